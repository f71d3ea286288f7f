"""A private engine for tests: its own state root, socket and prefix.

`start_private_engine(tmp_root)` runs `python -m runtime` as a subprocess on a
socket of its own and waits until it says it is ready and /_ping answers; `EngineHandle.stop()`
sends SIGTERM, waits, and checks the daemon removed its socket. The engine's
stderr goes to `<tmp_root>/engine.log`, shown when start-up fails.
"""

from __future__ import annotations

import os
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
# AF_UNIX paths are limited to 107 bytes; pytest's tmp paths can be longer.
MAX_SOCKET_PATH = 100


@dataclass
class EngineHandle:
    root: Path
    socket: Path
    prefix: str
    pid: int
    process: subprocess.Popen[bytes]
    log: Path
    _socket_dir: Path | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def docker_env(self) -> dict[str, str]:
        """Environment overrides that point docker / docker-py / our CLI at this engine."""
        return {"DOCKER_HOST": self.host, "PYCOMPOSE_ENGINE_ROOT": str(self.root)}

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM, wait for the exit, and check the socket is gone."""
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
                    raise AssertionError(f"engine did not stop on SIGTERM:\n{self.log_text()}") from None
            assert self.process.returncode == 0, f"engine exited {self.process.returncode}:\n{self.log_text()}"
            assert not self.socket.exists(), f"engine left its socket behind: {self.socket}"
        finally:
            if self._socket_dir is not None:
                shutil.rmtree(self._socket_dir, ignore_errors=True)


def start_private_engine(tmp_root: Path, log_level: str = "debug", *, args: Sequence[str] = (),
                         nofile: int | None = None) -> EngineHandle:
    """Start an engine with state under `tmp_root/root` and wait until it answers.

    `args` are more daemon flags (`--api-idle-timeout 1`); `nofile` lowers the
    daemon's soft RLIMIT_NOFILE (its file-descriptor limit)."""
    tmp_root.mkdir(parents=True, exist_ok=True)
    root = tmp_root / "root"
    sock = tmp_root / "engine.sock"
    socket_dir = None
    if len(os.fsencode(sock)) > MAX_SOCKET_PATH:
        socket_dir = Path(tempfile.mkdtemp(prefix="pyc-test-"))
        sock = socket_dir / "engine.sock"
    log = tmp_root / "engine.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    ready_r, ready_w = os.pipe()
    argv = [sys.executable, "-m", "runtime", "--root", str(root), "--host", f"unix://{sock}",
            "--log-level", log_level, "--notify-fd", str(ready_w), *args]
    try:
        with open(log, "ab") as out:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env,
                                       cwd=REPO, pass_fds=(ready_w,), preexec_fn=_limit_files(nofile))
    finally:
        os.close(ready_w)
    handle = EngineHandle(root, sock, "", process.pid, process, log, socket_dir)
    try:
        _wait_until_ready(handle, ready_r)
        handle.prefix = "pyc" + (root / "engine-id").read_text().strip()
    except BaseException:
        if process.poll() is None:
            process.kill()
            process.wait()
        if socket_dir is not None:
            shutil.rmtree(socket_dir, ignore_errors=True)
        raise
    return handle


def _limit_files(nofile: int | None) -> Callable[[], None] | None:
    if nofile is None:
        return None
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard))

    return limit


def ping(path: Path, timeout: float = 1.0) -> bytes:
    """The raw answer to `GET /_ping` (a tiny client, independent of ours)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(os.fspath(path))
        conn.sendall(b"GET /_ping HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        chunks = []
        while data := conn.recv(65536):
            chunks.append(data)
    return b"".join(chunks)


def _wait_until_ready(handle: EngineHandle, ready_r: int) -> None:
    """The daemon writes READY=1 on the pipe once it serves; EOF means it died."""
    try:
        readable, _, _ = select.select([ready_r], [], [], START_TIMEOUT)
        said = os.read(ready_r, 64) if readable else None
    finally:
        os.close(ready_r)
    if said is None:
        raise AssertionError(f"engine not ready within {START_TIMEOUT} s:\n{handle.log_text()}")
    if not said.startswith(b"READY"):
        handle.process.wait(STOP_TIMEOUT)
        raise AssertionError(f"engine exited {handle.process.returncode} at start:\n{handle.log_text()}")
    assert ping(handle.socket).startswith(b"HTTP/1.1 200"), handle.log_text()
