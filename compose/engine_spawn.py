"""Starting the engine as a program of its own in the background, and telling whether it runs.

The engine is `python -m runtime` (compose never imports it): spawned in its
own session with its log in `<root>/engine.log`, it says READY on a pipe
once it answers. `pycompose engine start` and the auto-start of the CLI and
the Python API (compose/engine_reach.py) both come here.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from compose.client.place import LOGFILE, PIDFILE
from compose.error_base import ComposeError

START_TIMEOUT = 5.0
STOP_TIMEOUT = 10.0


class EngineStartFailed(ComposeError):
    """The engine did not come up; the message ends with its log's tail."""


@dataclass(frozen=True)
class EngineSettings:
    root: Path
    host: str  # the first -H: where `start` and `status` reach it
    log_level: str
    more_hosts: tuple[str, ...] = ()  # further -H addresses
    tls_args: tuple[str, ...] = ()  # dockerd's TLS flags, passed to the daemon as given

    @property
    def reach(self) -> str:
        """Where to ping it: its first unix socket, else its first address."""
        return next((h for h in (self.host, *self.more_hosts) if not h.startswith("tcp://")), self.host)

    @property
    def pidfile(self) -> Path:
        return self.root / PIDFILE

    def daemon_argv(self) -> list[str]:
        return [sys.executable, "-m", "runtime", "--root", str(self.root), "--host", self.host,
                "--log-level", self.log_level,
                *(arg for host in self.more_hosts for arg in ("--host", host)), *self.tls_args]


def start_background(settings: EngineSettings) -> int:
    """Spawn the engine in its own session and wait until it answers; its pid.

    Failure is an `EngineStartFailed` carrying the end of the engine's log.
    `pycompose engine start` and the auto-start (compose/engine_reach.py) use it.
    """
    settings.root.mkdir(parents=True, exist_ok=True)
    log_path = settings.root / LOGFILE
    ready_r, ready_w = os.pipe()
    try:
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [*settings.daemon_argv(), "--notify-fd", str(ready_w)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=daemon_environ(),
                start_new_session=True, pass_fds=(ready_w,),
            )
        os.close(ready_w)
        said = os.read(ready_r, 64) if wait_readable(ready_r, START_TIMEOUT) else None
    finally:
        os.close(ready_r)
    ready = said is not None and said.startswith(b"READY")
    if said is not None and not ready:
        # The pipe closed without a word: the engine is exiting; let it finish.
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(STOP_TIMEOUT)
    if not ready or not answers(settings.reach):
        if proc.poll() is None:
            proc.terminate()
            proc.wait()
            what = f"did not start within {START_TIMEOUT:g} s"
        else:
            what = f"exited with status {proc.returncode}"
        raise EngineStartFailed(f"the engine {what}; the end of its log ({log_path}):\n{log_tail(log_path)}")
    return proc.pid


def running_pid(pidfile: Path) -> int | None:
    """The pid in the pidfile if that process is a live engine (not a recycled pid)."""
    try:
        pid = int(pidfile.read_text().strip())
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    return pid if b"-m" in argv and b"runtime" in argv else None


def answers(host: str) -> bool:
    from compose.client import ping_sync

    return ping_sync(host, timeout=1.0) is not None


def wait_readable(fd: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            readable, _, _ = select.select([fd], [], [], left)
        except InterruptedError:
            continue
        return bool(readable)
    return False


def daemon_environ() -> dict[str, str]:
    """The environment for the engine: ours, plus where the packages are."""
    source = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH", "")) if p)
    return env


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
