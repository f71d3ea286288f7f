"""The engine starts on demand for the default socket (as root), and a missing engine is one clear line.

The default socket and root are moved into a private directory through
PYCOMPOSE_DEFAULT_HOST / PYCOMPOSE_ENGINE_ROOT: nothing here touches
/run/pycompose or /var/lib/pycompose.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from compose import engine_reach
from tests.compose.cli.engines import stop_supervisor
from tests.engine_fixture import ping
from tests.runtime.api.inprocess import short_dir

PYCOMPOSE = str(Path(sys.executable).parent / "pycompose")


@pytest.fixture
def place() -> Iterator[tuple[Path, Path]]:
    """(root, socket) of a private default engine; whatever started there is stopped after."""
    with short_dir() as d:
        root, sock = d / "root", d / "engine.sock"
        try:
            yield root, sock
        finally:
            stopped = run("engine", "stop", env=_env(root, sock))
            stop_supervisor(root)
            assert stopped.returncode == 0, stopped.stderr
            assert not sock.exists()


def _env(root: Path, sock: Path) -> dict[str, str]:
    return {"PYCOMPOSE_DEFAULT_HOST": f"unix://{sock}", "PYCOMPOSE_ENGINE_ROOT": str(root)}


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp", **env}
    return subprocess.run([PYCOMPOSE, *args], env=environ, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.root
@pytest.mark.timeout(60)
def test_default_engine_starts_on_demand(place: tuple[Path, Path]) -> None:
    root, sock = place
    first = run("image", "ls", env=_env(root, sock))
    assert first.returncode == 0, first.stderr
    assert first.stderr == f"pycompose: started the engine (root {root}, socket {sock})\n"
    assert first.stdout.startswith("REPOSITORY   TAG       IMAGE ID")
    assert ping(sock).startswith(b"HTTP/1.1 200")
    pid = (root / "engine.pid").read_text().strip()
    second = run("image", "ls", "-q", env=_env(root, sock))
    assert second.returncode == 0 and second.stderr == "" and second.stdout == ""
    assert (root / "engine.pid").read_text().strip() == pid


@pytest.mark.root
@pytest.mark.timeout(60)
def test_stale_socket_is_replaced(place: tuple[Path, Path]) -> None:
    root, sock = place
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(sock))  # bound, never listening: what a crashed engine leaves
    dead.close()
    result = run("container", "ls", "-a", "-q", env=_env(root, sock))
    assert "started the engine" in result.stderr
    assert ping(sock).startswith(b"HTTP/1.1 200")


@pytest.mark.root
@pytest.mark.timeout(60)
def test_two_commands_at_once_start_one_engine(place: tuple[Path, Path]) -> None:
    root, sock = place
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: run("image", "ls", env=_env(root, sock)), range(2)))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert sum("started the engine" in r.stderr for r in results) == 1


def test_other_host_missing_is_one_line(tmp_path: Path) -> None:
    sock = tmp_path / "none.sock"
    result = run("image", "ls", env={"DOCKER_HOST": f"unix://{sock}",
                                     "PYCOMPOSE_DEFAULT_HOST": f"unix://{tmp_path}/default.sock"})
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (f"cannot connect to the engine at unix://{sock}: no such socket; "
                             f"start it with `pycompose engine start --host unix://{sock}`\n")


def test_default_host_not_started_for_other_users(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PYCOMPOSE_DEFAULT_HOST", f"unix://{tmp_path}/engine.sock")
    monkeypatch.setenv("PYCOMPOSE_ENGINE_ROOT", str(tmp_path / "root"))
    monkeypatch.setattr(engine_reach.os, "geteuid", lambda: 1000)
    with pytest.raises(engine_reach.EngineUnavailable, match=r"start it with `pycompose engine start`$"):
        engine_reach.ensure_engine(f"unix://{tmp_path}/engine.sock")
    assert not (tmp_path / "root").exists()


def test_start_failure_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    with short_dir() as d:
        monkeypatch.setenv("PYCOMPOSE_DEFAULT_HOST", f"unix://{d}/engine.sock")
        (d / "root").write_text("not a directory")
        monkeypatch.setenv("PYCOMPOSE_ENGINE_ROOT", str(d / "root" / "sub"))
        monkeypatch.setattr(engine_reach.os, "geteuid", lambda: 0)
        with pytest.raises(engine_reach.EngineUnavailable, match="could not start the engine: cannot use root"):
            engine_reach.ensure_engine(f"unix://{d}/engine.sock")


def test_unsupported_host() -> None:
    with pytest.raises(engine_reach.EngineUnavailable, match="unsupported engine host"):
        engine_reach.ensure_engine("http://127.0.0.1:2375")
    engine_reach.ensure_engine("tcp://127.0.0.1:2375")  # a remote engine is never started here: its client says
    engine_reach.ensure_engine("ssh://far")
