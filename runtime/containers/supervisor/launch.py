"""Start (or find) the supervisor of a state root; called by the daemon, and by the engine to replace a dead one.

What is started is the supervisor's holder (holder.py), detached (its own
session; it forks once more so the launcher only waits for its first
process), with stdio to `root/supervisor.log`; the holder starts the
supervisor (`python -m runtime.containers.supervisor`) as its child and
starts another whenever one dies. Neither is our child afterwards, so
both survive the engine's death and restart; a live supervisor (its lock
on `root/supervisor.lock` held) is reused, and while a holder lives
(`root/supervisor-holder.lock`) we wait for its supervisor instead of
starting one. Started through subprocess, so it is safe from the engine's
threads too. Light imports only: the daemon must start fast.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

from runtime.containers.supervisor.keep import HOLDER_LOCK_NAME
from runtime.containers.supervisor.protocol import LOCK_NAME, LOG_NAME, PIDFILE_NAME, SOCKET_NAME, unix_path

START_TIMEOUT = 15.0


class SupervisorStartError(Exception):
    pass


def supervisor_alive(root: Path) -> bool:
    """Whether a supervisor holds this root's lock (it does for its whole life)."""
    return _locked(root / LOCK_NAME)


def holder_alive(root: Path) -> bool:
    """Whether a holder runs for this root (then a supervisor runs, or will again shortly)."""
    return _locked(root / HOLDER_LOCK_NAME)


def _locked(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
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
    """The pid of this root's supervisor: the live one, the one its holder is (re)starting, or a new one."""
    root.mkdir(mode=0o711, parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    if supervisor_alive(root):
        pid = supervisor_pid(root)
        if pid is not None and _answers(root):
            return pid
    if holder_alive(root):
        return _wait_answers(root, deadline)
    if supervisor_alive(root):
        _wait_gone(root, timeout)  # one that holds the lock, has no holder and does not answer is on its way out
    ready_r, ready_w = os.pipe()
    try:
        _start_holder(root, prefix, ready_w)
        os.close(ready_w)
        ready_w = -1
        return _wait_ready(ready_r, root, deadline)
    finally:
        os.close(ready_r)
        if ready_w >= 0:
            os.close(ready_w)


def _start_holder(root: Path, prefix: str, notify_w: int) -> None:
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    argv = [sys.executable, "-m", "runtime.containers.supervisor.holder", "--root", str(root), "--prefix", prefix,
            "--notify-fd", str(notify_w), "--detach"]
    log = os.open(root / LOG_NAME, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
    try:
        # Whatever the engine inherited (e.g. its own readiness pipe) must not live on in the holder.
        first = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(notify_w,),
                                 start_new_session=True, cwd="/", env=env)
    finally:
        os.close(log)
    first.wait()  # it forks the holder and exits at once


def _wait_answers(root: Path, deadline: float) -> int:
    """A holder is (re)starting the supervisor: wait until it answers."""
    while time.monotonic() < deadline:
        if supervisor_alive(root):
            pid = supervisor_pid(root)
            if pid is not None and _answers(root):
                return pid
        elif not holder_alive(root):
            break
        time.sleep(0.02)
    raise SupervisorStartError(f"the supervisor's holder did not bring a supervisor up; see {root / LOG_NAME}")


def _wait_ready(ready_r: int, root: Path, deadline: float) -> int:
    readable, _, _ = select.select([ready_r], [], [], max(0.0, deadline - time.monotonic()))
    said = os.read(ready_r, 4096).decode(errors="replace").strip() if readable else ""
    if said.startswith("READY "):
        return int(said.split()[1])
    if said.startswith("ERROR") and holder_alive(root):  # lost a race with another starter, or it restarts
        return _wait_answers(root, deadline)
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
    """Wait until the supervisor (and its holder) released its lock and its process has exited.

    Pass a pidfd taken before the supervisor was asked to stop; without one,
    a supervisor that already dropped its lock is not waited for.
    """
    own = pidfd < 0
    if own:
        pidfd = _watch(root)
    deadline = time.monotonic() + timeout
    try:
        while supervisor_alive(root) or holder_alive(root):  # its holder exits right after it
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
