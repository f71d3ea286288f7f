"""The Python API builds: `Project.up()` builds a missing image, `up(build=True)` rebuilds (pytest-docker's
`up --build`), against a private engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.api import Project
from tests.compose.cli import compose_e2e
from tests.engine_fixture import EngineHandle

pytestmark = [pytest.mark.root, pytest.mark.timeout(180)]
compose_engine = compose_e2e.compose_engine


def test_up_builds_and_rebuilds(compose_engine: EngineHandle, tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  app:\n    build: {context: ., network: none}\n"
                                           "    network_mode: none\n    init: true\n")
    (tmp_path / "Dockerfile").write_text("FROM busybox\nCOPY v /v\nCMD [\"sleep\", \"1000000\"]\n")
    (tmp_path / "v").write_text("1\n")
    stack = Project.load(tmp_path, project_name="apibuild", host=compose_engine.host)
    try:
        stack.up(wait=True)
        assert stack.exec("app", "cat /v").output.strip() == "1"
        (tmp_path / "v").write_text("2\n")
        stack.up(wait=True)
        assert stack.exec("app", "cat /v").output.strip() == "1"  # the image is there: used as it is
        stack.up(wait=True, build=True)
        assert stack.exec("app", "cat /v").output.strip() == "2"
    finally:
        stack.down()
