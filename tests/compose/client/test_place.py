"""Where the engine lives: default socket and root, and the one reading of a host."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.client.errors import EngineConnectionError
from compose.client.place import DEFAULT_HOST, default_host, default_root, socket_path


def test_defaults_and_their_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PYCOMPOSE_DEFAULT_HOST", raising=False)
    monkeypatch.delenv("PYCOMPOSE_ENGINE_ROOT", raising=False)
    assert default_host() == DEFAULT_HOST == "unix:///run/pycompose/engine.sock"
    assert default_root() == Path("/var/lib/pycompose")
    monkeypatch.setenv("PYCOMPOSE_DEFAULT_HOST", f"unix://{tmp_path}/e.sock")
    monkeypatch.setenv("PYCOMPOSE_ENGINE_ROOT", str(tmp_path / "root"))
    assert default_host() == f"unix://{tmp_path}/e.sock"
    assert default_root() == tmp_path / "root"


def test_socket_path() -> None:
    assert socket_path("unix:///run/x.sock") == socket_path("/run/x.sock") == "/run/x.sock"
    for host in ("tcp://127.0.0.1:2375", "unix://relative.sock", "x.sock"):
        with pytest.raises(EngineConnectionError, match="only unix:// sockets"):
            socket_path(host)
