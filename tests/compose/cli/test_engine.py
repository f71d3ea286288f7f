"""`pycompose engine`: foreground exec, start/status/stop in the background."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine_fixture import ping
from tests.runtime.api.inprocess import short_dir

PYCOMPOSE = str(Path(sys.executable).parent / "pycompose")


@pytest.fixture
def place(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    with short_dir() as d:
        yield tmp_path / "root", d / "engine.sock"


def pycompose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp", **(env or {})}
    return subprocess.run([PYCOMPOSE, *args], env=environ, capture_output=True, text=True, timeout=60,
                          check=False)


def test_start_status_stop(place: tuple[Path, Path]) -> None:
    root, sock = place
    env = {"PYCOMPOSE_ENGINE_ROOT": str(root), "DOCKER_HOST": f"unix://{sock}"}
    started = pycompose("engine", "start", env=env)
    try:
        assert started.returncode == 0, started.stderr
        assert f"on unix://{sock}" in started.stdout
        pid = int((root / "engine.pid").read_text())
        assert ping(sock).startswith(b"HTTP/1.1 200")
        status = pycompose("engine", "status", env=env)
        assert status.returncode == 0
        assert f"engine running (pid {pid}) on unix://{sock} (answering)" in status.stdout
        again = pycompose("engine", "start", env=env)
        assert again.returncode == 0 and f"already running (pid {pid})" in again.stdout
    finally:
        stopped = pycompose("engine", "stop", env=env)
    assert stopped.returncode == 0 and f"engine stopped (pid {pid})" in stopped.stdout
    assert not sock.exists() and not (root / "engine.pid").exists()
    assert "listening on" in (root / "engine.log").read_text()
    status = pycompose("engine", "status", env=env)
    assert status.returncode == 1 and "not running" in status.stdout
    assert pycompose("engine", "stop", env=env).returncode == 0


def test_options_after_the_subcommand(place: tuple[Path, Path]) -> None:
    root, sock = place
    where = ["--root", str(root), "--host", f"unix://{sock}"]
    assert pycompose("engine", "start", *where, "--log-level", "debug").returncode == 0
    try:
        assert pycompose("engine", "status", *where).returncode == 0
        # The group's options work as well, the subcommand's win.
        assert pycompose("engine", "--root", "/nonexistent", "status", "--root", str(root)).returncode == 0
    finally:
        assert pycompose("engine", *where, "stop").returncode == 0
    assert "DEBUG" in (root / "engine.log").read_text()


def test_start_failure_shows_the_log(tmp_path: Path) -> None:
    sock = tmp_path / ("x" * 120) / "engine.sock"
    result = pycompose("engine", "start", "--root", str(tmp_path / "root"), "--host", f"unix://{sock}")
    assert result.returncode == 1
    assert "exited with status 1" in result.stderr and "socket path too long" in result.stderr


def test_bad_host_is_a_usage_error() -> None:
    result = pycompose("engine", "--host", "http://127.0.0.1:2375", "status")
    assert result.returncode == 2 and "unix:// and tcp://" in result.stderr


def test_foreground_execs_the_daemon(place: tuple[Path, Path]) -> None:
    root, sock = place
    proc = subprocess.Popen([PYCOMPOSE, "engine", "--root", str(root), "--host", f"unix://{sock}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert _answers_within(sock, 10)
        # Exec'd, not spawned: the CLI's own pid is now the engine.
        assert (root / "engine.pid").read_text().strip() == str(proc.pid)
        assert b"runtime" in Path(f"/proc/{proc.pid}/cmdline").read_bytes()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert not sock.exists()


def _answers_within(sock: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            return ping(sock).startswith(b"HTTP/1.1 200")
        except OSError:
            time.sleep(0.02)
    return False
