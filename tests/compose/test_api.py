"""The Python API (`compose.api.Project`) and the pytest plugin, against a private engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from compose.api import Project
from compose.errors import ComposeError
from tests.compose.cli import compose_e2e
from tests.compose.cli.compose_e2e import environ, wait_for
from tests.engine_fixture import EngineHandle

pytestmark = pytest.mark.root
compose_engine = compose_e2e.compose_engine  # a fixture: the module's engine

APP = """
services:
  web:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "echo started ${GREETING}; trap 'exit 0' TERM; while true; do sleep 0.1; done"]
  job:
    image: busybox
    network_mode: none
    command: ["echo", "job ran"]
"""


def test_load_up_exec_logs_down(compose_engine: EngineHandle, tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(APP)
    project = Project.load(tmp_path, project_name="apitest", env={"GREETING": "hello"}, host=compose_engine.host)
    assert project.name == "apitest" and set(project.model.services) == {"web", "job"}
    try:
        project.up(wait=True)  # a one-shot counts once it runs (as with `up --wait`): it may not have ended yet
        assert wait_for(lambda: {c["State"] for c in project.ps()} == {"running", "exited"})
        assert project.exec("web", "echo from exec") == (0, "from exec\n")
        assert project.exec("web", ["sh", "-c", "echo err >&2; exit 4"]) == (4, "err\n")
        assert project.exec("web", "sh -c 'echo $X'", env={"X": "y"})[1] == "y\n"
        assert project.logs("web") == "started hello\n"
        assert "job-1  | job ran\n" in project.logs()
        with pytest.raises(ComposeError, match="not running"):
            project.exec("job", "true")
        with pytest.raises(ComposeError, match="not published"):
            project.port("web", 80)
    finally:
        project.down()
    assert project.ps() == []


def test_load_from_files_and_as_a_context_manager(compose_engine: EngineHandle, tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text(APP)
    override = tmp_path / "more.yaml"
    override.write_text("services:\n  job: {command: ['echo', 'overridden']}\n")
    with Project.load([base, override], project_name="apictx", host=compose_engine.host) as project:
        assert wait_for(lambda: project.logs("job") == "overridden\n")  # a one-shot counts once it runs
    assert project.ps() == []


def test_port_of_a_published_service(compose_engine: EngineHandle, tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("""
services:
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "8080"]
    ports: ["8080"]
""")
    with Project.load(tmp_path, project_name="apiport", host=compose_engine.host) as project:
        host, port = project.port("web", 8080)
        assert host == "127.0.0.1" and port > 0


PLUGIN_TEST = '''
from pathlib import Path


def test_stack(compose_project):
    stack = compose_project(Path(__file__).parent / "stack", project_name="plugintest")
    assert stack.exec("web", "echo ok") == (0, "ok\\n")
'''


def test_pytest_plugin_brings_stacks_up_and_down(compose_engine: EngineHandle, tmp_path: Path) -> None:
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "compose.yaml").write_text(APP)
    (tmp_path / "test_with_stack.py").write_text(PLUGIN_TEST)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                            cwd=tmp_path, env=environ(compose_engine), capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    leftover = Project.load(tmp_path / "stack", project_name="plugintest", host=compose_engine.host).ps()
    assert leftover == []
