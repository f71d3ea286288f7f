"""The supervisor keeps containers alive and logged while no engine runs, through the real docker CLI.

An engine killed with SIGKILL leaves its containers running under the
supervisor, which keeps draining their output into the logs; the next
engine on the same root lists them again, stops them with their exit code
and every log line, and applies `restart: always` to one that exited while
nobody watched. Creating and removing containers leaves no descriptor open
in the supervisor.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.engine_fixture import EngineHandle, start_private_engine
from tests.runtime.api.containers_env import (
    docker_env,
    env,
    eventually,
    import_busybox,
    inspect,
    no_containers_left,
    out,
    private_engine,
    run,
)

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]
__all__ = ["docker_env", "env", "private_engine"]

LOGGER = "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done"
DOWNTIME = 2.0


def kill_engine(handle: EngineHandle) -> None:
    handle.process.send_signal(signal.SIGKILL)
    handle.process.wait(10)


def pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def log_times(env: dict[str, str], name: str) -> list[tuple[float, int]]:
    """(timestamp, n) of every `line n` in the container's log, in order."""
    lines = []
    for line in out(env, "logs", "-t", name).splitlines():
        stamp, word, number = line.split()
        assert word == "line", line
        lines.append((datetime.fromisoformat(stamp.replace("Z", "+00:00")[:26] + "+00:00").timestamp(),
                      int(number)))
    return lines


def test_containers_outlive_a_killed_engine(tmp_path: Path, docker_env: dict[str, str]) -> None:
    first: EngineHandle | None = start_private_engine(tmp_path / "own")
    assert first is not None
    second: EngineHandle | None = None
    env = {**docker_env, **first.docker_env}
    import_busybox(env, tmp_path)
    try:
        names = [f"talker{i}" for i in range(5)]
        for name in names:
            run(env, "run", "-d", "--name", name, "busybox", "sh", "-c", LOGGER)
        # Exits by itself a moment after the engine is gone: its restart policy applies at the next boot.
        run(env, "run", "-d", "--name", "phoenix", "--restart", "always", "busybox", "sh", "-c", "sleep 2; exit 3")
        pids = {name: inspect(env, name)["State"]["Pid"] for name in names}  # type: ignore[index]
        phoenix = inspect(env, "phoenix")
        phoenix_pid = phoenix["State"]["Pid"]  # type: ignore[index]
        assert phoenix["RestartCount"] == 0 and isinstance(phoenix_pid, int) and not pid_gone(phoenix_pid)

        kill_engine(first)
        killed_at = time.time()
        first = None
        eventually(lambda: pid_gone(phoenix_pid))
        time.sleep(DOWNTIME)
        restarted_at = time.time()
        second = start_private_engine(tmp_path / "own")
        env = {**docker_env, **second.docker_env}

        listed = out(env, "ps", "--format", "{{.Names}}").split()
        assert set(names) <= set(listed), listed
        for name in names:
            state = inspect(env, name)["State"]
            assert isinstance(state, dict) and state["Running"] is True and state["Pid"] == pids[name]

        run(env, "stop", "-t", "1", "talker2")
        assert out(env, "wait", "talker2") == "137\n"  # sh as PID 1 ignores SIGTERM: killed after 1 s
        assert inspect(env, "talker2")["State"]["ExitCode"] == 137  # type: ignore[index]
        lines = log_times(env, "talker2")
        assert [n for _, n in lines] == list(range(len(lines)))  # every line, none lost
        # Lines written while no engine ran were drained (and stamped) then, not buffered until later.
        during = [n for stamp, n in lines if killed_at + 0.3 < stamp < restarted_at - 0.3]
        assert len(during) >= DOWNTIME / 0.2 / 2, (killed_at, restarted_at, lines)

        def phoenix_back() -> bool:
            info = inspect(env, "phoenix")
            state = info["State"]
            return (isinstance(state, dict) and state["Running"] is True and state["Pid"] != phoenix_pid
                    and isinstance(info["RestartCount"], int) and info["RestartCount"] >= 1)

        eventually(phoenix_back, show=lambda: repr(inspect(env, "phoenix")["State"]))
        run(env, "rm", "-f", *names, "phoenix")
        no_containers_left(env)
    finally:
        for handle in (first, second):
            if handle is not None:
                handle.stop()


def supervisor_fds(root: Path) -> tuple[list[str], int]:
    """The supervisor's descriptors (targets) other than engine connections, and how many of those there are.

    The engine keeps a small pool of connections to the supervisor (accepted
    sockets on supervisor.sock): those come and go with the engine's load,
    everything else (pipes, pidfds, container sockets, files) must not grow.
    """
    pid = int((root / "supervisor.pid").read_text())
    fd_dir = Path(f"/proc/{pid}/fd")
    targets = []
    for fd in os.listdir(fd_dir):
        try:
            targets.append(os.readlink(fd_dir / fd))
        except FileNotFoundError:
            continue
    sockets: dict[str, tuple[str, str]] = {}
    for row in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = row.split()
        sockets[fields[6]] = (fields[5], fields[7] if len(fields) > 7 else "")
    inodes = [t[len("socket:["):-1] for t in targets if t.startswith("socket:[")]
    listening = {sockets[i][1] for i in inodes if i in sockets and sockets[i][0] == "01" and sockets[i][1]}
    connections = {f"socket:[{i}]" for i in inodes
                   if i in sockets and sockets[i][0] == "03" and sockets[i][1] in listening}
    return sorted(t for t in targets if t not in connections), len(connections)


def test_no_descriptor_left_in_the_supervisor(env: dict[str, str], private_engine: EngineHandle) -> None:
    root = private_engine.root
    run(env, "run", "--rm", "busybox", "true")  # warm: the engine's connection pool exists
    baseline, _ = supervisor_fds(root)
    names = [f"fd{i}" for i in range(10)]
    for name in names:
        run(env, "run", "-d", "--name", name, "busybox", "sh", "-c", "echo hello; sleep 1000")
    run(env, "exec", "fd0", "true")
    run(env, "run", "--rm", "-i", "busybox", "cat", stdin=b"through\n")
    eventually(lambda: out(env, "logs", "fd1") == "hello\n")
    during, _ = supervisor_fds(root)
    assert len(during) > len(baseline)  # the containers' pidfds and pipes
    run(env, "rm", "-f", *names)
    no_containers_left(env)

    def settled() -> bool:
        return supervisor_fds(root)[0] == baseline

    eventually(settled, show=lambda: repr((baseline, supervisor_fds(root))))
    assert supervisor_fds(root)[1] <= 10  # the engine's idle pool (8) and its event subscription
