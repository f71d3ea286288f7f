"""`pycompose container …`: the flows against a fake engine, then the commands against a real one.

The fake engine (fake_engine.py) records the order of calls, which is the
point of `run`: attach and wait are in place before start. The real-engine
tests run the commands against a private engine; an engine whose container
API is missing or broken fails them.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compose.cli import engines
from tests.compose.cli.engines import PYCOMPOSE, busybox_engine, pycompose
from tests.compose.cli.fake_engine import FakeEngine, fake_engine
from tests.engine_fixture import EngineHandle
from tests.signals import dispositions


@pytest.fixture
def fake() -> Iterator[FakeEngine]:
    with fake_engine() as engine:
        yield engine


def cli(fake: FakeEngine, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp", "DOCKER_HOST": fake.host}
    return subprocess.run([PYCOMPOSE, "container", *args], env=env, input=stdin, capture_output=True, timeout=30,
                          check=False)


# flows, against the fake engine


def test_run_attaches_and_waits_before_start(fake: FakeEngine) -> None:
    result = cli(fake, "run", "busybox", "echo", "hello", "-l")
    assert result.returncode == 0 and result.stdout == b"hello -l\n" and result.stderr == b""
    assert fake.calls == ["create", "attach", "wait:next-exit", "start"]
    (container,) = fake.containers.values()
    assert container.body["Cmd"] == ["echo", "hello", "-l"] and container.body["AttachStdout"]


def test_run_exit_status_and_stderr(fake: FakeEngine) -> None:
    result = cli(fake, "run", "--name", "f", "busybox", "fail", "3")
    assert result.returncode == 3 and result.stderr == b"failing\n" and result.stdout == b""


def test_run_rm_waits_for_removal(fake: FakeEngine) -> None:
    assert cli(fake, "run", "--rm", "busybox", "echo").returncode == 0
    assert "wait:removed" in fake.calls and not fake.containers


def test_run_detached_prints_the_id(fake: FakeEngine) -> None:
    result = cli(fake, "run", "-d", "-l", "a=b", "busybox", "sleep")
    (container,) = fake.containers.values()
    assert result.stdout.decode() == container.id + "\n" and result.stderr == b"WARNING: fake warning\n"
    assert fake.calls == ["create", "start"] and not container.body["AttachStdout"]


def test_run_missing_image_is_one_line(fake: FakeEngine) -> None:
    # docker's words, then the pull's failure in one line (the fake engine cannot pull)
    result = cli(fake, "run", "nope:1", "true")
    assert result.returncode == 125 and len(result.stderr.splitlines()) == 2
    first, second = result.stderr.decode().splitlines()
    assert first == "Unable to find image 'nope:1' locally"
    assert second.startswith("pycompose: Error response from daemon: ")
    never = cli(fake, "run", "--pull", "never", "nope:1", "true")
    assert never.returncode == 125 and never.stderr == b"pycompose: Error response from daemon: No such image: nope:1\n"


def test_run_missing_command_exits_127(fake: FakeEngine) -> None:
    result = cli(fake, "run", "busybox", "missing")
    assert result.returncode == 127 and b"executable file not found" in result.stderr


def test_run_interactive_forwards_stdin(fake: FakeEngine) -> None:
    result = cli(fake, "run", "-i", "busybox", "cat", stdin=b"some input\n")
    assert result.returncode == 0 and result.stdout == b"some input\n"
    (container,) = fake.containers.values()
    assert container.body["OpenStdin"] and container.body["StdinOnce"]


def test_run_tty_output_is_raw(fake: FakeEngine) -> None:
    result = cli(fake, "run", "-t", "busybox", "echo", "raw")
    assert result.stdout == b"raw\n"


def test_run_it_needs_a_terminal(fake: FakeEngine) -> None:
    result = cli(fake, "run", "-it", "busybox", "cat", stdin=b"")
    assert result.returncode == 1 and result.stderr == b"Error: the input device is not a TTY\n"


@pytest.mark.parametrize("ignored", [(), (signal.SIGINT,)], ids=["terminal", "background-job"])
def test_run_forwards_sigint(fake: FakeEngine, ignored: tuple[int, ...]) -> None:
    # Started with SIGINT ignored (a shell's background job), `run` still forwards it, as docker's does.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": "/tmp", "DOCKER_HOST": fake.host}
    proc = subprocess.Popen([PYCOMPOSE, "container", "run", "busybox", "sleep"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=dispositions(ignored))
    try:
        _until(lambda: "start" in fake.calls)
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "kill:SIGINT" in fake.calls and proc.returncode == 130


def test_run_it_uses_the_terminal(fake: FakeEngine) -> None:
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = {"PATH": os.environ.get("PATH", ""), "HOME": "/tmp", "DOCKER_HOST": fake.host, "TERM": "xterm"}
    proc = subprocess.Popen([PYCOMPOSE, "container", "run", "-it", "busybox", "cat"], env=env, stdin=follower,
                            stdout=follower, stderr=follower, start_new_session=True)
    os.close(follower)
    try:
        _until(lambda: "resize:30x100" in fake.calls)
        os.write(leader, b"typed\x03")  # raw mode: ^C is a byte for the container, not a signal
        assert _read_until(leader, b"typed\x03")
        fcntl.ioctl(leader, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        proc.send_signal(signal.SIGWINCH)
        _until(lambda: "resize:40x120" in fake.calls)
        (container,) = fake.containers.values()
        assert container.body["HostConfig"]["ConsoleSize"] == [30, 100] and container.body["Tty"]
        subprocess.run([PYCOMPOSE, "container", "kill", "-s", "SIGTERM", container.id], timeout=30, check=True,
                       env=env, capture_output=True)
        assert proc.wait(timeout=10) == 137
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)


def test_exec_status_and_detach(fake: FakeEngine) -> None:
    assert cli(fake, "run", "-d", "--name", "box", "busybox", "sleep").returncode == 0
    result = cli(fake, "exec", "-e", "A=1", "-u", "nobody", "-w", "/tmp", "box", "fail", "4")
    assert result.returncode == 4 and result.stdout == b"fail 4\n"
    body = next(iter(fake.execs.values()))["body"]
    assert body["Env"] == ["A=1"] and body["User"] == "nobody" and body["WorkingDir"] == "/tmp"
    assert body["Cmd"] == ["fail", "4"] and body["AttachStdout"] and not body["AttachStdin"]
    detached = cli(fake, "exec", "-d", "box", "echo", "x")
    assert detached.returncode == 0 and detached.stdout == b"" and "exec-start:detach=True" in fake.calls


def test_logs_and_start_attach(fake: FakeEngine) -> None:
    assert cli(fake, "run", "-d", "--name", "box", "busybox", "echo", "started").returncode == 0
    logs = cli(fake, "logs", "--tail", "5", "--since", "1700000000", "box")
    assert logs.stdout == b"line one\n" and logs.stderr == b"line two\n"
    assert "logs:tail=5:since=1700000000" in fake.calls
    fake.containers[next(iter(fake.containers))].status = "exited"
    fake.calls.clear()
    attached = cli(fake, "start", "-a", "box")
    assert attached.returncode == 0 and attached.stdout == b"started\n"
    assert fake.calls == ["attach", "wait:next-exit", "start"]


def test_each_name_in_turn(fake: FakeEngine) -> None:
    for name in ("a", "b"):
        assert cli(fake, "run", "-d", "--name", name, "busybox", "sleep").returncode == 0
    result = cli(fake, "stop", "-t", "1", "a", "nope", "b")
    assert result.returncode == 1 and result.stdout == b"a\nb\n" and result.stderr == b"No such container: nope\n"
    assert cli(fake, "rm", "-f", "a", "b").stdout == b"a\nb\n" and not fake.containers


def _until(condition: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def _read_until(fd: int, wanted: bytes, timeout: float = 10) -> bool:
    import select

    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            seen += os.read(fd, 1024)
    return wanted in seen


# the real engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineHandle]:
    with busybox_engine(tmp_path_factory.mktemp("container-cli")) as (handle, _):
        try:
            probe = pycompose(handle, "container", "ls", "-q")
            assert probe.returncode == 0, f"container ls failed: {probe.stderr.strip()}"
            yield handle
        finally:
            pycompose(handle, "container", "rm", "-f", *_all_ids(handle))


def _all_ids(handle: EngineHandle) -> list[str]:
    return pycompose(handle, "container", "ls", "-a", "-q").stdout.split() or ["-"]


def ok(handle: EngineHandle, *args: str, stdin: str | None = None) -> str:
    return engines.ok(handle, "container", *args, stdin=stdin)


@pytest.mark.root
@pytest.mark.timeout(60)
def test_real_run_foreground(engine: EngineHandle) -> None:
    assert ok(engine, "run", "--rm", "busybox", "echo", "hello") == "hello\n"
    failed = pycompose(engine, "container", "run", "--rm", "busybox", "sh", "-c", "echo oops >&2; exit 3")
    assert failed.returncode == 3 and failed.stderr == "oops\n"
    assert ok(engine, "run", "--rm", "-i", "busybox", "cat", stdin="piped\n") == "piped\n"
    env = ok(engine, "run", "--rm", "-e", "A=1", "-w", "/tmp", "-u", "65534", "busybox", "sh", "-c",
             "echo $A $(pwd) $(id -u)")
    assert env == "1 /tmp 65534\n"
    missing = pycompose(engine, "container", "run", "--rm", "--pull", "never", "nope:1", "true")
    assert missing.returncode == 125 and len(missing.stderr.splitlines()) == 1


@pytest.mark.root
@pytest.mark.timeout(60)
def test_real_detached_lifecycle(engine: EngineHandle) -> None:
    cid = ok(engine, "run", "-d", "--name", "life", "-l", "k=v", "busybox", "sh", "-c",
             "echo up; trap 'exit 7' TERM; while true; do sleep 0.1; done").strip()
    assert len(cid) == 64
    rows = [json.loads(line) for line in ok(engine, "ls", "--format", "json").splitlines()]
    assert [(r["ID"], r["Names"], r["State"], r["Labels"]) for r in rows] == [(cid[:12], "life", "running", "k=v")]
    assert ok(engine, "ls", "-q", "--no-trunc") == cid + "\n"
    assert ok(engine, "ls", "--filter", "label=k=v", "-q") == cid[:12] + "\n"
    assert ok(engine, "exec", "life", "cat", "/etc/hostname") == cid[:12] + "\n"
    assert pycompose(engine, "container", "exec", "life", "sh", "-c", "exit 5").returncode == 5
    _eventually(lambda: ok(engine, "logs", "life") == "up\n")
    (data,) = json.loads(ok(engine, "inspect", "life"))
    assert data["Id"] == cid and data["Config"]["Labels"] == {"k": "v"}
    assert ok(engine, "rename", "life", "renamed") == ""
    assert ok(engine, "stop", "-t", "5", "renamed") == "renamed\n"
    assert ok(engine, "inspect", "-f", "{{.State.ExitCode}}", "renamed") == "7\n"
    assert ok(engine, "wait", "renamed") == "7\n"
    assert ok(engine, "start", "renamed") == "renamed\n"
    assert ok(engine, "restart", "-t", "5", "renamed") == "renamed\n"
    assert ok(engine, "kill", "-s", "KILL", "renamed") == "renamed\n"
    assert ok(engine, "rm", "-v", "renamed") == "renamed\n"
    assert ok(engine, "ls", "-a", "-q") == ""


@pytest.mark.root
@pytest.mark.timeout(60)
def test_real_prune_and_table(engine: EngineHandle) -> None:
    cid = ok(engine, "run", "busybox", "true")
    assert cid == ""
    table = ok(engine, "ls", "-a").splitlines()
    assert table[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert "busybox" in table[1] and '"true"' in table[1] and "Exited (0)" in table[1]
    assert ok(engine, "prune", stdin="n\n").endswith("[y/N] ")
    pruned = ok(engine, "prune", "-f")
    assert pruned.startswith("Deleted Containers:\n") and ok(engine, "ls", "-a", "-q") == ""


def _eventually(check: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():  # type: ignore[operator]
                return
        except AssertionError:
            pass
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.05)


@pytest.mark.root
@pytest.mark.timeout(60)
def test_real_flags_reach_the_container(engine: EngineHandle, tmp_path: Path) -> None:
    (tmp_path / "shared.txt").write_text("from the host\n")
    (tmp_path / "env").write_text("FROM_FILE=yes\n")
    script = ("echo $FROM_FILE $(hostname) $(cat /in/shared.txt) $(ulimit -n);"
              " touch /rootfs-file 2>/dev/null && echo writable || echo read-only;"
              " touch /run/x /scratch/y && echo tmpfs-ok")
    out = ok(engine, "run", "--rm", "--env-file", str(tmp_path / "env"), "-h", "boxhost", "--read-only",
             "-v", f"{tmp_path}:/in:ro", "--tmpfs", "/run", "--mount", "type=tmpfs,target=/scratch",
             "--ulimit", "nofile=512:1024", "--network", "none", "busybox", "sh", "-c", script)
    assert out == "yes boxhost from the host 512\nread-only\ntmpfs-ok\n"
    cid = ok(engine, "run", "-d", "--memory", "64m", "--cpus", "0.5", "--pids-limit", "50", "--cap-drop", "ALL",
             "--cap-add", "CHOWN", "--init", "--restart", "on-failure:2", "--stop-signal", "SIGUSR1",
             "--stop-timeout", "3", "--shm-size", "8m", "-p", "18080:80", "--security-opt", "no-new-privileges",
             "busybox", "sleep", "30").strip()
    try:
        (data,) = json.loads(ok(engine, "inspect", cid))
        host, config = data["HostConfig"], data["Config"]
        assert host["Memory"] == 64 << 20 and host["NanoCpus"] == 500_000_000 and host["PidsLimit"] == 50
        assert host["CapDrop"] == ["ALL"] and host["CapAdd"] == ["CHOWN"] and host["Init"] is True
        assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
        assert host["ShmSize"] == 8 << 20 and host["SecurityOpt"] == ["no-new-privileges"]
        assert host["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "18080"}]}
        assert config["StopSignal"] == "SIGUSR1" and config["StopTimeout"] == 3
    finally:
        ok(engine, "rm", "-f", cid)


@pytest.mark.root
@pytest.mark.timeout(60)
def test_real_ls_matches_docker(engine: EngineHandle) -> None:
    import shutil

    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI on PATH")
    cid = ok(engine, "run", "-d", "--name", "same", "-l", "x=1", "busybox", "sleep", "30").strip()
    try:
        fmt = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.Names}}\t{{.State}}\t{{.Labels}}\t{{.CreatedAt}}"
        theirs = subprocess.run([docker, "ps", "-a", "--format", fmt], env={"PATH": os.environ.get("PATH", ""),
                                "HOME": "/tmp", **engine.docker_env}, capture_output=True, text=True, timeout=30,
                                check=True).stdout
        assert ok(engine, "ls", "-a", "--format", fmt) == theirs
    finally:
        ok(engine, "rm", "-f", cid)


def test_create_prints_the_id_and_starts_nothing(fake: FakeEngine) -> None:
    result = cli(fake, "create", "--name", "made", "busybox", "echo", "hi")
    (container,) = fake.containers.values()
    assert result.returncode == 0 and result.stdout.decode() == container.id + "\n"
    assert fake.calls == ["create"] and container.name == "made" and container.body["Cmd"] == ["echo", "hi"]
