"""A supervisor killed with SIGKILL is replaced at once: containers, exit codes and every log line survive.

The module runs an engine of its own (its supervisor gets killed, which the
session's engine must not see) and drives it with the real docker CLI.
Five containers print a counter every 10 ms while the supervisor is
killed: the holder starts a new one that re-adopts them on the kept
descriptors, and within 2 s exec, logs and stop work again, `ps` shows
them running with the same pids, and the logs hold every number once.
With the holder stopped (SIGSTOP) the supervisor stays dead for a while:
the API answers 503 meanwhile, and a container that exits then keeps its
real exit code. With the holder killed as well, the engine starts a new
holder and supervisor itself.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.containers.supervisor import launch
from tests.compose.cli.engines import cli_env
from tests.conftest import _stop_supervisor
from tests.engine_fixture import EngineHandle, start_private_engine
from tests.runtime.api.containers_env import (
    DOCKER,
    eventually,
    import_busybox,
    inspect,
    no_containers_left,
    out,
    remove_all_containers,
    run,
)
from tests.runtime.images.busybox import busybox_available

pytestmark = [pytest.mark.root, pytest.mark.timeout(180)]

COUNTER = "trap 'exit 0' TERM; i=0; while true; do echo $i; i=$((i+1)); sleep 0.01; done"
# Each line in two writes: a supervisor killed between them must not lose the first half.
HALVES = "trap 'exit 0' TERM; i=0; while true; do printf %d $i; sleep 0.005; printf ' half\\n'; i=$((i+1)); done"
BACK_WITHIN = 2.0


@pytest.fixture(scope="module")
def own_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EngineHandle, dict[str, str]]]:
    if not busybox_available():
        pytest.skip("busybox-static is not installed")
    if DOCKER is None:
        pytest.skip("no docker CLI on PATH")
    handle = start_private_engine(tmp_path_factory.mktemp("engine"))
    try:
        home = tmp_path_factory.mktemp("home")
        env = cli_env(home, handle)
        import_busybox(env, home)
        yield handle, env
        remove_all_containers(env)
        no_containers_left(env)
    finally:
        handle.stop()
        _stop_supervisor(handle.root)  # stopped with the idle engine already; this is for a failed test


def supervisor_and_holder(root: Path) -> tuple[int, int]:
    pid = launch.supervisor_pid(root)
    assert pid is not None
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    return pid, int(stat[stat.rfind(b")") + 2 :].split()[1])


def process_state(pid: int) -> str:
    """The one-letter state of /proc/<pid>/stat ("" once reaped)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except FileNotFoundError:
        return ""
    return stat[stat.rfind(b")") + 2 :].split()[0].decode()


def numbers(env: dict[str, str], name: str) -> list[int]:
    return [int(line) for line in out(env, "logs", name).split()]


def until_ok(env: dict[str, str], *args: str, deadline: float) -> str:
    while True:
        result = run(env, *args, check=False, timeout=10)
        if result.returncode == 0:
            return result.stdout.decode()
        assert time.monotonic() < deadline, (args, result.stderr.decode())
        time.sleep(0.02)


def raw_get(sock_path: Path, path: str) -> tuple[int, dict[str, object]]:
    """(status, JSON body) of a GET straight on the engine's socket."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(10)
        conn.connect(os.fspath(sock_path))
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_a_killed_supervisor_is_replaced_and_no_line_is_lost(own_engine: tuple[EngineHandle, dict[str, str]]) -> None:
    handle, env = own_engine
    names = [f"counter{i}" for i in range(5)]
    for name in names:
        run(env, "run", "-d", "--name", name, "busybox", "sh", "-c", COUNTER)
    run(env, "run", "-d", "--name", "halves", "busybox", "sh", "-c", HALVES)
    pids = {name: inspect(env, name)["State"]["Pid"] for name in names}  # type: ignore[index]
    eventually(lambda: all(len(numbers(env, name)) >= 20 for name in names))
    old, holder = supervisor_and_holder(handle.root)

    os.kill(old, signal.SIGKILL)
    killed = time.monotonic()
    deadline = killed + BACK_WITHIN
    assert until_ok(env, "exec", names[0], "echo", "back", deadline=deadline) == "back\n"
    assert until_ok(env, "logs", names[1], deadline=deadline)
    listed = until_ok(env, "ps", "--format", "{{.Names}} {{.State}}", deadline=deadline).split("\n")
    assert time.monotonic() - killed < BACK_WITHIN
    assert {f"{name} running" for name in names} <= set(listed), listed
    new, same_holder = supervisor_and_holder(handle.root)
    assert new != old and same_holder == holder
    for name in names:
        state = inspect(env, name)["State"]
        assert isinstance(state, dict) and state["Running"] is True and state["Pid"] == pids[name], state

    before = {name: len(numbers(env, name)) for name in names}
    time.sleep(0.5)  # they keep writing, the new supervisor keeps logging
    started = time.monotonic()
    run(env, "stop", *names, "halves")
    assert time.monotonic() - started < 5  # the TERM trap ends them: no 10 s kill timeout
    halves = out(env, "logs", "halves").splitlines()
    whole = [line for line in halves if line.endswith(" half")]
    assert whole == [f"{n} half" for n in range(len(whole))] and len(halves) - len(whole) <= 1, halves
    for name in names:
        assert inspect(env, name)["State"]["ExitCode"] == 0  # type: ignore[index]
        logged = numbers(env, name)
        assert logged == list(range(len(logged))), f"{name}: gaps or duplicates in {logged}"
        assert len(logged) > before[name] + 10
    run(env, "rm", *names, "halves")


def test_a_container_that_exits_while_no_supervisor_runs_keeps_its_exit_code(
        own_engine: tuple[EngineHandle, dict[str, str]]) -> None:
    handle, env = own_engine
    run(env, "run", "-d", "--name", "quitter", "busybox", "sh", "-c",
        "trap 'exit 7' TERM; while true; do sleep 0.05; done")
    run(env, "run", "-d", "--name", "stayer", "busybox", "sh", "-c", COUNTER)
    pid = inspect(env, "quitter")["State"]["Pid"]
    assert isinstance(pid, int)
    supervisor, holder = supervisor_and_holder(handle.root)
    os.kill(holder, signal.SIGSTOP)  # no replacement until it goes on
    try:
        os.kill(supervisor, signal.SIGKILL)
        eventually(lambda: not launch.supervisor_alive(handle.root))
        os.kill(pid, signal.SIGTERM)  # PID 1 has a handler: it exits 7, with no supervisor to see it
        eventually(lambda: process_state(pid) == "Z")  # reparented to the stopped holder, not reaped yet
        status, body = raw_get(handle.socket, "/containers/json")
        assert status == 503 and "supervisor" in str(body["message"]), (status, body)
        result = run(env, "ps", check=False)
        assert result.returncode != 0 and b"being replaced" in result.stderr, result.stderr
    finally:
        os.kill(holder, signal.SIGCONT)
    deadline = time.monotonic() + BACK_WITHIN
    until_ok(env, "ps", deadline=deadline)
    state = inspect(env, "quitter")["State"]
    assert isinstance(state, dict) and state["Status"] == "exited" and state["ExitCode"] == 7, state
    assert inspect(env, "stayer")["State"]["Running"] is True  # type: ignore[index]
    run(env, "stop", "stayer")
    logged = numbers(env, "stayer")
    assert logged == list(range(len(logged))), f"gaps or duplicates in {logged}"
    run(env, "rm", "quitter", "stayer")


def test_with_its_holder_killed_too_the_engine_starts_a_new_supervisor(
        own_engine: tuple[EngineHandle, dict[str, str]]) -> None:
    handle, env = own_engine
    run(env, "run", "-d", "--name", "orphan", "busybox", "sh", "-c", COUNTER)
    pid = inspect(env, "orphan")["State"]["Pid"]
    supervisor, holder = supervisor_and_holder(handle.root)
    os.kill(holder, signal.SIGKILL)  # the supervisor goes on alone
    eventually(lambda: not launch.holder_alive(handle.root))
    assert until_ok(env, "exec", "orphan", "echo", "alone", deadline=time.monotonic() + BACK_WITHIN) == "alone\n"
    os.kill(supervisor, signal.SIGKILL)
    # Nobody restarts it but the engine, which notices at once; the container is taken over through /proc.
    assert until_ok(env, "exec", "orphan", "echo", "back", deadline=time.monotonic() + 3 * BACK_WITHIN) == "back\n"
    new, new_holder = supervisor_and_holder(handle.root)
    assert new != supervisor and new_holder != holder and launch.holder_alive(handle.root)
    state = inspect(env, "orphan")["State"]
    assert isinstance(state, dict) and state["Running"] is True and state["Pid"] == pid, state
    run(env, "stop", "orphan")
    assert inspect(env, "orphan")["State"]["ExitCode"] == 0  # type: ignore[index]
    run(env, "rm", "orphan")
