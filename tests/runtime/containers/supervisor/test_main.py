"""Real containers through a private supervisor and the engine's client."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import anyio
import pytest

from runtime.containers.supervisor.main import KEEP_EXITED_PER_CONTAINER
from runtime.containers.supervisor.protocol import parse_frames
from runtime.containers.supervisor_client import SupervisorClient, SupervisorError
from runtime.linux import caps
from runtime.spec import ContainerSpec, ExecSpec, Process, User
from tests.runtime.containers.supervisor.conftest import SupervisorHandle

pytestmark = [pytest.mark.root, pytest.mark.anyio, pytest.mark.timeout(60)]
RFC3339NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


@asynccontextmanager
async def client(sup: SupervisorHandle) -> AsyncIterator[SupervisorClient]:
    c = await SupervisorClient.connect(sup.root)
    try:
        yield c
    finally:
        await c.aclose()


async def wait_exited(c: SupervisorClient, cid: str) -> Any:
    with anyio.fail_after(20):
        while (state := await c.state(cid)).status != "exited":
            await anyio.sleep(0.01)
    return state


async def run(c: SupervisorClient, spec: ContainerSpec, **create: Any) -> tuple[Any, list[dict[str, Any]]]:
    """create + start + wait; (final state, log entries)."""
    opts = {"max_size": None, "max_file": 1, "stdin_open": False, "tty": False, **create}
    await c.create(spec, **opts)
    await c.start(spec.id)
    state = await wait_exited(c, spec.id)
    with open(f"{spec.bundle}/{spec.id}-json.log") as f:
        return state, [json.loads(line) for line in f]


def output(entries: list[dict[str, Any]], stream: str = "stdout") -> str:
    return "".join(e["log"] for e in entries if e["stream"] == stream)


def read_all(sock: socket.socket) -> bytes:
    sock.settimeout(20)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    return data


async def test_echo_hi_lands_in_the_json_log(sup: SupervisorHandle) -> None:
    async with client(sup) as c:
        spec = sup.spec(["sh", "-c", "echo hi; echo oops >&2"])
        state, entries = await run(c, spec)
    assert state.status == "exited" and state.exit_code == 0 and not state.oom_killed
    assert [(e["log"], e["stream"]) for e in entries] == [("hi\n", "stdout"), ("oops\n", "stderr")]
    assert all(RFC3339NANO.match(e["time"]) for e in entries)
    assert RFC3339NANO.match(state.started_at) and RFC3339NANO.match(state.finished_at)
    assert state.started_at <= state.finished_at


async def test_exit_code_7(sup: SupervisorHandle) -> None:
    async with client(sup) as c:
        state, _ = await run(c, sup.spec(["sh", "-c", "exit 7"]))
    assert state.exit_code == 7


async def test_killed_by_a_signal_is_128_plus(sup: SupervisorHandle) -> None:
    async with client(sup) as c:
        spec = sup.spec(["sleep", "30"])
        await c.create(spec, max_size=None, max_file=1, stdin_open=False, tty=False)
        await c.start(spec.id)
        assert (await c.state(spec.id)).status == "running"
        await c.kill(spec.id, signal.SIGKILL)
        assert (await wait_exited(c, spec.id)).exit_code == 137


async def test_create_then_delete_without_start_leaves_nothing(sup: SupervisorHandle) -> None:
    async with client(sup) as c:
        spec = sup.spec(["echo", "never"])
        pid = await c.create(spec, max_size=None, max_file=1, stdin_open=False, tty=False)
        assert os.path.exists(f"/proc/{pid}")
        cgroup_dir = f"/sys/fs/cgroup/pids/{spec.prefix}/{spec.id}"
        assert os.path.isdir(cgroup_dir)
        await c.delete(spec.id)
        assert not os.path.exists(f"/proc/{pid}")
        assert not os.path.exists(cgroup_dir)
        assert await c.list() == []
        assert output_of_log(spec) == ""
        with pytest.raises(SupervisorError) as info:
            await c.state(spec.id)
        assert info.value.kind == "not_found"


def output_of_log(spec: ContainerSpec) -> str:
    try:
        with open(f"{spec.bundle}/{spec.id}-json.log") as f:
            return f.read()
    except FileNotFoundError:
        return ""


async def test_the_start_gate_holds_the_process_before_exec(sup: SupervisorHandle) -> None:
    async with client(sup) as c:
        spec = sup.spec(["sleep", "30"])
        pid = await c.create(spec, max_size=None, max_file=1, stdin_open=False, tty=False)
        await anyio.sleep(0.2)
        assert (await c.state(spec.id)).status == "created"
        assert "python" in os.readlink(f"/proc/{pid}/exe")  # still our child's interpreter, not sleep
        with open(f"/proc/{pid}/status") as f:
            assert re.search(r"^NSpid:\s+\d+\s+1$", f.read(), re.M)  # PID 1 in its namespace
        await c.start(spec.id)
        assert os.readlink(f"/proc/{pid}/exe") == "/bin/busybox"
        await c.kill(spec.id, signal.SIGKILL)
        await wait_exited(c, spec.id)


async def test_pid_1_hostname_and_only_its_own_processes(sup: SupervisorHandle) -> None:
    async with client(sup) as c:
        spec = sup.spec(["sh", "-c", "echo $$; hostname; ps -o pid,comm; true"], hostname="web-1")
        _state, entries = await run(c, spec)
    lines = output(entries).splitlines()
    assert lines[:2] == ["1", "web-1"]
    assert [line.split()[1] for line in lines[3:]] == ["sh", "ps"]
    assert lines[3].split()[0] == "1"


async def test_no_cap_sys_admin_no_mount_no_proc_sys_no_sys(sup: SupervisorHandle) -> None:
    script = ("mount -t tmpfs none /mnt 2>&1; echo mount=$?; echo 1 > /proc/sys/kernel/panic 2>&1; echo sys=$?; "
              "echo x > /sys/kernel/uevent_helper 2>&1; echo sysfs=$?; grep CapEff /proc/self/status")
    async with client(sup) as c:
        _state, entries = await run(c, sup.spec(["sh", "-c", script]))
    text = output(entries) + output(entries, "stderr")
    assert "mount=1" in text or "mount=255" in text
    assert "sys=1" in text and "sysfs=1" in text
    assert "Read-only file system" in text
    assert f"{caps.effective_mask(caps.DOCKER_DEFAULT):016x}" in text


async def test_readonly_rootfs_but_tmpfs_mounts_stay_writable(sup: SupervisorHandle) -> None:
    script = "touch /x 2>&1; echo root=$?; touch /dev/shm/x; echo shm=$?"
    async with client(sup) as c:
        _state, entries = await run(c, sup.spec(["sh", "-c", script], readonly=True))
    text = output(entries)
    assert "root=1" in text and "Read-only file system" in text and "shm=0" in text


async def test_user_65534_has_no_effective_caps(sup: SupervisorHandle) -> None:
    async with client(sup) as c:
        spec = sup.spec(["sh", "-c", "id -u; id -g; grep CapEff /proc/self/status; echo $HOME"],
                        user=User(65534, 65534))
        _state, entries = await run(c, spec)
    assert output(entries).split() == ["65534", "65534", "CapEff:", "0000000000000000", "/nonexistent"]


async def test_masked_paths_are_empty(sup: SupervisorHandle) -> None:
    script = "wc -c < /proc/timer_list; ls /sys/firmware | wc -l; cat /proc/keys | wc -c"
    async with client(sup) as c:
        _state, entries = await run(c, sup.spec(["sh", "-c", script]))
    assert output(entries).split() == ["0", "0", "0"]


async def test_exec_ls_and_exit_code_3(sup: SupervisorHandle) -> None:
    async with client(sup) as c, anyio.create_task_group() as tg:
        events: list[dict[str, Any]] = []

        async def watch() -> None:
            async for event in c.events():
                events.append(event)

        tg.start_soon(watch)
        spec = sup.spec(["sleep", "30"])
        await c.create(spec, max_size=None, max_file=1, stdin_open=False, tty=False)
        await c.start(spec.id)
        proc = Process(("sh", "-c", "ls /; echo err >&2; exit 3"), env=spec.process.env,
                       capabilities=caps.DOCKER_DEFAULT)
        exec_pid, stream = await c.exec(spec.id, ExecSpec(proc), tty=False, stdin=False)
        data = await anyio.to_thread.run_sync(read_all, stream)
        frames, rest = parse_frames(data)
        assert rest == b""
        stdout = b"".join(d for s, d in frames if s == 1).decode().split()
        assert {"bin", "etc", "proc", "sys", "dev"} <= set(stdout)
        assert b"".join(d for s, d in frames if s == 2) == b"err\n"
        with anyio.fail_after(10):
            while not any(e["event"] == "exec-exit" for e in events):
                await anyio.sleep(0.01)
        assert [e for e in events if e["event"] == "exec-exit"] == [
            {"event": "exec-exit", "id": spec.id, "exec_pid": exec_pid, "exit_code": 3}]
        assert (await c.exec_state(exec_pid))["exit_code"] == 3
        assert output_of_log(spec) == ""  # exec output is not the container's log
        await c.kill(spec.id, signal.SIGKILL)
        await wait_exited(c, spec.id)
        tg.cancel_scope.cancel()


async def test_only_a_containers_newest_exited_execs_are_kept(sup: SupervisorHandle) -> None:
    async with client(sup) as c, anyio.create_task_group() as tg:
        exits: list[int] = []

        async def watch() -> None:
            async for event in c.events():
                if event["event"] == "exec-exit":
                    exits.append(int(event["exec_pid"]))

        tg.start_soon(watch)
        spec = sup.spec(["sleep", "30"])
        await c.create(spec, max_size=None, max_file=1, stdin_open=False, tty=False)
        await c.start(spec.id)
        pids = []
        for _ in range(KEEP_EXITED_PER_CONTAINER + 2):
            exec_pid, stream = await c.exec(spec.id, ExecSpec(Process(("true",), env=spec.process.env)),
                                            tty=False, stdin=False)
            await anyio.to_thread.run_sync(read_all, stream)
            pids.append(exec_pid)
        with anyio.fail_after(10):
            while len(exits) < len(pids):
                await anyio.sleep(0.01)
        assert (await c.exec_state(pids[-1]))["exit_code"] == 0
        with pytest.raises(SupervisorError, match="no such exec"):
            await c.exec_state(pids[0])  # forgotten long before its 300 s: 32 newer ones are kept
        await c.kill(spec.id, signal.SIGKILL)
        await wait_exited(c, spec.id)
        tg.cancel_scope.cancel()


async def test_exec_with_a_tty_and_resize(sup: SupervisorHandle) -> None:
    async with client(sup) as c:
        spec = sup.spec(["sleep", "30"])
        await c.create(spec, max_size=None, max_file=1, stdin_open=False, tty=False)
        await c.start(spec.id)
        proc = Process(("sh", "-c", "read line; tty; stty size; echo got:$line"), env=spec.process.env,
                       capabilities=caps.DOCKER_DEFAULT, terminal=True)
        exec_pid, stream = await c.exec(spec.id, ExecSpec(proc), tty=True, stdin=True)
        await c.resize(exec_pid, 33, 111)
        stream.sendall(b"hello\n")
        data = (await anyio.to_thread.run_sync(read_all, stream)).decode()
        assert "/dev/pts/" in data and "33 111" in data and "got:hello\r\n" in data
        await c.kill(spec.id, signal.SIGKILL)
        await wait_exited(c, spec.id)


async def test_exec_into_a_stopped_container_is_refused(sup: SupervisorHandle) -> None:
    async with client(sup) as c:
        spec = sup.spec(["true"])
        await run(c, spec)
        with pytest.raises(SupervisorError) as info:
            await c.exec(spec.id, ExecSpec(Process(("ls",))), tty=False, stdin=False)
        assert info.value.kind == "conflict"


async def test_exec_of_a_missing_command_fails_with_127(sup: SupervisorHandle) -> None:
    async with client(sup) as c:
        spec = sup.spec(["sleep", "30"])
        await c.create(spec, max_size=None, max_file=1, stdin_open=False, tty=False)
        await c.start(spec.id)
        with pytest.raises(SupervisorError) as info:
            await c.exec(spec.id, ExecSpec(Process(("nope",), env=spec.process.env)), tty=False, stdin=False)
        assert info.value.exit_code == 127 and info.value.phase == "exec"
        await c.kill(spec.id, signal.SIGKILL)
        await wait_exited(c, spec.id)


async def test_attach_before_start_gets_framed_output(sup: SupervisorHandle) -> None:
    async with client(sup) as c:
        spec = sup.spec(["sh", "-c", "echo out; echo err >&2; echo more"])
        await c.create(spec, max_size=None, max_file=1, stdin_open=False, tty=False)
        stream = await c.attach(spec.id, stdin=False)
        await c.start(spec.id)
        frames, rest = parse_frames(await anyio.to_thread.run_sync(read_all, stream))
    assert rest == b""
    assert b"".join(d for s, d in frames if s == 1) == b"out\nmore\n"
    assert b"".join(d for s, d in frames if s == 2) == b"err\n"


async def test_attach_stdin_once_closes_stdin_at_eof(sup: SupervisorHandle) -> None:
    async with client(sup) as c:
        spec = sup.spec(["sh", "-c", "cat; echo done"])
        await c.create(spec, max_size=None, max_file=1, stdin_open=True, tty=False, stdin_once=True)
        stream = await c.attach(spec.id, stdin=True)
        await c.start(spec.id)
        stream.sendall(b"hello\n")
        stream.shutdown(socket.SHUT_WR)
        frames, _ = parse_frames(await anyio.to_thread.run_sync(read_all, stream))
        state = await wait_exited(c, spec.id)
    assert b"".join(d for _s, d in frames) == b"hello\ndone\n"
    assert state.exit_code == 0


async def test_tty_container_logs_raw_output_as_stdout_and_resizes(sup: SupervisorHandle) -> None:
    async with client(sup) as c:
        spec = sup.spec(["sh", "-c", "tty; stty size"])
        await c.create(spec, max_size=None, max_file=1, stdin_open=False, tty=True)
        await c.resize(spec.id, 24, 80)
        await c.start(spec.id)
        await wait_exited(c, spec.id)
    with open(f"{spec.bundle}/{spec.id}-json.log") as f:
        entries = [json.loads(line) for line in f]
    assert {e["stream"] for e in entries} == {"stdout"}
    assert output(entries) == "/dev/pts/0\r\n24 80\r\n"  # as `docker run -t busybox tty` says


async def test_log_rotation(sup: SupervisorHandle) -> None:
    async with client(sup) as c:
        spec = sup.spec(["sh", "-c", "i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done"])
        await run(c, spec, max_size=1000, max_file=3)
    base = f"{spec.bundle}/{spec.id}-json.log"
    assert os.path.exists(base) and os.path.exists(base + ".1") and os.path.exists(base + ".2")
    assert not os.path.exists(base + ".3")
    for path in (base + ".1", base + ".2"):
        assert 1000 <= os.path.getsize(path) < 1100
    with open(base) as f:
        last = [json.loads(line)["log"] for line in f]
    assert last[-1] == "line-199\n"


async def test_oom_kill_is_137_and_flagged(sup: SupervisorHandle) -> None:
    spec = sup.spec(["sh", "-c", "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done"])
    spec = replace(spec, resources=replace(spec.resources, memory=16 * 1024 * 1024))
    async with client(sup) as c:
        state, _ = await run(c, spec)
    assert state.exit_code == 137 and state.oom_killed


async def test_delete_of_a_running_container_needs_force(sup: SupervisorHandle) -> None:
    async with client(sup) as c:
        spec = sup.spec(["sleep", "30"])
        await c.create(spec, max_size=None, max_file=1, stdin_open=False, tty=False)
        await c.start(spec.id)
        with pytest.raises(SupervisorError) as info:
            await c.delete(spec.id)
        assert info.value.kind == "conflict"
        with pytest.raises(SupervisorError):
            await c.start(spec.id)
        await c.delete(spec.id, force=True)
        assert await c.list() == []


async def test_joining_another_containers_network_namespace(sup: SupervisorHandle) -> None:
    async with client(sup) as c:
        first = sup.spec(["sleep", "30"])
        pid = await c.create(first, max_size=None, max_file=1, stdin_open=False, tty=False)
        await c.start(first.id)
        second = sup.spec(["readlink", "/proc/self/ns/net"], join_namespaces=(("net", f"/proc/{pid}/ns/net"),))
        _, entries = await run(c, second)
        assert output(entries).strip() == os.readlink(f"/proc/{pid}/ns/net")
        await c.kill(first.id, signal.SIGKILL)
        await wait_exited(c, first.id)


async def test_shutdown_refuses_while_containers_run(sup: SupervisorHandle) -> None:
    async with client(sup) as c:
        spec = sup.spec(["sleep", "30"])
        await c.create(spec, max_size=None, max_file=1, stdin_open=False, tty=False)
        with pytest.raises(SupervisorError) as info:
            await c.shutdown(force=False)
        assert info.value.kind == "conflict"
        await c.delete(spec.id)


async def test_many_containers_at_once(sup: SupervisorHandle) -> None:
    async with client(sup) as c:
        specs = [sup.spec(["sh", "-c", f"echo n{i}; exit {i}"]) for i in range(8)]
        results: dict[str, Any] = {}

        async def one(spec: ContainerSpec) -> None:
            results[spec.id] = await run(c, spec)

        async with anyio.create_task_group() as tg:
            for spec in specs:
                tg.start_soon(one, spec)
    for i, spec in enumerate(specs):
        state, entries = results[spec.id]
        assert state.exit_code == i and output(entries) == f"n{i}\n"
