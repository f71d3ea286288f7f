"""The session fixtures themselves: a private engine with busybox on it."""

from __future__ import annotations

import subprocess

import pytest

from tests.engine_fixture import EngineHandle

pytestmark = pytest.mark.root


def test_session_engine_serves_busybox(engine: EngineHandle, busybox: str) -> None:
    out = subprocess.run(["docker", "image", "inspect", "--format", "{{json .Config.Cmd}}", busybox],
                         env={"PATH": "/usr/bin:/bin:/usr/local/bin", **engine.docker_env},
                         capture_output=True, text=True, timeout=30, check=True).stdout
    assert out.strip() == '["sh"]'
    assert engine.prefix.startswith("pyc") and len(engine.prefix) == 7
