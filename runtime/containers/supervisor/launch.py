"""Start (or find) the supervisor of a state root; called by the daemon before any thread exists.

The supervisor is detached: a double fork with setsid in between, stdio to
`root/supervisor.log`, then exec of `python -m runtime.containers.supervisor`
(a clean interpreter whose `ps` line says what it is). It is not our child
afterwards, so it survives the engine's death and restart; a live one (its
lock on `root/supervisor.lock` held) is reused. Light imports only: the
daemon must start fast.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import socket
import sys
from pathlib import Path

from runtime.containers.supervisor.protocol import LOCK_NAME, LOG_NAME, PIDFILE_NAME, SOCKET_NAME, unix_path

START_TIMEOUT = 15.0


class SupervisorStartError(Exception):
    pass


def supervisor_alive(root: Path) -> bool:
    """Whether a supervisor holds this root's lock (it does for its whole life)."""
    try:
        fd = os.open(root / LOCK_NAME, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def supervisor_pid(root: Path) -> int | None:
    try:
        return int((root / PIDFILE_NAME).read_text().strip())
    except (OSError, ValueError):
        return None


def ensure_supervisor(root: Path, prefix: str, timeout: float = START_TIMEOUT) -> int:
    """The pid of this root's supervisor, started detached if none is alive."""
    root.mkdir(mode=0o711, parents=True, exist_ok=True)
    if supervisor_alive(root):
        pid = supervisor_pid(root)
        if pid is not None and _answers(root):
            return pid
        _wait_gone(root, timeout)  # one that holds the lock but does not answer is on its way out
    ready_r, ready_w = os.pipe()
    try:
        first = os.fork()
        if first == 0:  # pragma: no cover - runs in the forked child
            _detach_and_exec(root, prefix, ready_w)
        os.close(ready_w)
        ready_w = -1
        os.waitpid(first, 0)
        return _wait_ready(ready_r, root, timeout)
    finally:
        os.close(ready_r)
        if ready_w >= 0:
            os.close(ready_w)


def _detach_and_exec(root: Path, prefix: str, notify_w: int) -> None:
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        log = os.open(root / LOG_NAME, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        # Whatever the engine inherited (e.g. its own readiness pipe from `engine start`) must not
        # live on in a process that outlives it.
        os.closerange(3, notify_w)
        os.closerange(notify_w + 1, 1 << 20)
        os.set_inheritable(notify_w, True)
        os.chdir("/")
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[3])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        argv = [sys.executable, "-m", "runtime.containers.supervisor", "--root", str(root), "--prefix", prefix,
                "--notify-fd", str(notify_w)]
        os.execve(sys.executable, argv, env)
    finally:
        os._exit(127)


def _wait_ready(ready_r: int, root: Path, timeout: float) -> int:
    readable, _, _ = select.select([ready_r], [], [], timeout)
    said = os.read(ready_r, 4096).decode(errors="replace").strip() if readable else ""
    if said.startswith("READY "):
        return int(said.split()[1])
    if said.startswith("ERROR") and supervisor_alive(root):  # lost a race with another starter: theirs wins
        pid = supervisor_pid(root)
        if pid is not None:
            return pid
    raise SupervisorStartError(f"supervisor did not start ({said or 'no answer'}); see {root / LOG_NAME}")


def _answers(root: Path, timeout: float = 2.0) -> bool:
    try:
        answer = request(root, {"id": 0, "op": "ping"}, timeout)
    except OSError:
        return False
    return bool(answer.get("ok"))


def request(root: Path, message: dict[str, object], timeout: float = 5.0) -> dict[str, object]:
    """One blocking request/response (no fds): for the daemon and tests, before or without an event loop."""
    address, dirfd = unix_path(root / SOCKET_NAME)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(address)
            sock.sendall(json.dumps(message).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("supervisor closed the connection")
                data += chunk
    finally:
        if dirfd >= 0:
            os.close(dirfd)
    answer: dict[str, object] = json.loads(data.splitlines()[0])
    return answer


def stop_supervisor_if_idle(root: Path, timeout: float = 5.0) -> bool:
    """Ask the supervisor to exit unless containers still run (the daemon's clean stop); True if it did."""
    if not supervisor_alive(root):
        return True
    pidfd = _watch(root)  # before asking: it drops its lock a moment before its process ends
    try:
        try:
            answer = request(root, {"id": 0, "op": "shutdown", "force": False}, timeout)
        except (OSError, ValueError):
            return False
        if not answer.get("ok"):
            return False
        return _wait_gone(root, timeout, pidfd)
    finally:
        if pidfd >= 0:
            os.close(pidfd)


def _watch(root: Path) -> int:
    """A pidfd of the live supervisor of `root`, or -1."""
    pid = supervisor_pid(root) if supervisor_alive(root) else None
    if pid is None:
        return -1
    try:
        return os.pidfd_open(pid)
    except OSError:
        return -1


def _wait_gone(root: Path, timeout: float, pidfd: int = -1) -> bool:
    """Wait until the supervisor released its lock and its process has exited.

    Pass a pidfd taken before the supervisor was asked to stop; without one,
    a supervisor that already dropped its lock is not waited for.
    """
    import time

    own = pidfd < 0
    if own:
        pidfd = _watch(root)
    deadline = time.monotonic() + timeout
    try:
        while supervisor_alive(root):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        if pidfd >= 0:  # readable once the process is gone (the lock goes a moment before)
            return bool(select.select([pidfd], [], [], max(0.0, deadline - time.monotonic()))[0])
        return True
    finally:
        if own and pidfd >= 0:
            os.close(pidfd)


def shutdown(root: Path, force: bool = True, timeout: float = 10.0) -> bool:
    """Stop the supervisor (killing its containers with force); True once it is gone."""
    pidfd = _watch(root)
    try:
        with contextlib.suppress(OSError, ValueError):
            request(root, {"id": 0, "op": "shutdown", "force": force}, timeout)
        return _wait_gone(root, timeout, pidfd)
    finally:
        if pidfd >= 0:
            os.close(pidfd)
