"""The pytest plugin: examples/pytest (a pytest-docker suite) on pytest-docker over our CLI and on our plugin
alone; a crashed session's stack taken down by the next session of the suite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compose.api import Project, list_containers
from compose.pytest_reap import SUITE, suite_id
from tests.compose.cli import compose_e2e
from tests.compose.cli.compose_e2e import PYCOMPOSE, environ, wait_for
from tests.engine_fixture import REPO, EngineHandle

pytestmark = [pytest.mark.root, pytest.mark.timeout(300)]
compose_engine = compose_e2e.compose_engine  # a fixture: the module's engine
SUITE_DIR = REPO / "examples" / "pytest"


def run_suite(handle: EngineHandle, *args: str, cwd: Path = SUITE_DIR) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(cwd), *args, str(cwd)]
    return subprocess.run(argv, cwd=cwd, env=environ(handle, {"COMPOSE_COMMAND": PYCOMPOSE}), capture_output=True,
                          text=True, timeout=240, check=False)


def leftovers(handle: EngineHandle, project: str) -> list[str]:
    """Containers, networks and volumes of `project` still on the engine."""
    import docker

    client = docker.DockerClient(base_url=handle.host)
    label = f"com.docker.compose.project={project}"
    try:
        return ([c.name for c in client.containers.list(all=True, filters={"label": label})]
                + [n.name for n in client.networks.list(filters={"label": label})]
                + [v.name for v in client.volumes.list(filters={"label": label})])
    finally:
        client.close()


def test_the_suite_on_pytest_docker_over_our_cli(compose_engine: EngineHandle) -> None:
    result = run_suite(compose_engine)  # pytest-docker is installed: loaded as any plugin
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_the_same_suite_on_our_plugin_alone(compose_engine: EngineHandle) -> None:
    result = run_suite(compose_engine, "-p", "no:docker")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_the_container_scope_option_is_honoured(compose_engine: EngineHandle) -> None:
    """`--container-scope module` on our plugin: the one module still passes (its stack per module)."""
    result = run_suite(compose_engine, "-p", "no:docker", "--container-scope", "module")
    assert result.returncode == 0, result.stdout + result.stderr


CRASHING = '''
import os
import time
from pathlib import Path


def test_holds_a_stack(compose_project):
    compose_project(Path(__file__).parent / "stack", project_name=os.environ["STACK"])
    Path(os.environ["READY"]).write_text("up")
    time.sleep(600)
'''

NEXT = '''
from pathlib import Path


def test_starts_cleanly(compose_project):
    stack = compose_project(Path(__file__).parent / "stack", project_name="fresh")
    assert stack.exec("app", "echo ok") == (0, "ok\\n")
'''

STACK = """
services:
  app:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
    volumes: [data:/data]
volumes:
  data: {}
"""


def test_a_killed_session_leaves_nothing_after_the_next_one(compose_engine: EngineHandle, tmp_path: Path) -> None:
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "compose.yaml").write_text(STACK)
    (tmp_path / "test_crash.py").write_text(CRASHING)
    ready = tmp_path / "ready"
    env = environ(compose_engine, {"STACK": "crashed", "READY": str(ready)})
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path)]
    first = subprocess.Popen([*argv, str(tmp_path / "test_crash.py")], cwd=tmp_path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert wait_for(ready.exists, timeout=120), "the first session never brought its stack up"
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert leftovers(compose_engine, "crashed"), "the stack should still be there after kill -9"
    labelled = list_containers(compose_engine.host, {"label": [f"{SUITE}={suite_id(str(tmp_path))}"]})
    assert [c["Labels"]["com.docker.compose.project"] for c in labelled] == ["crashed"]

    (tmp_path / "test_crash.py").unlink()
    (tmp_path / "test_next.py").write_text(NEXT)
    second = subprocess.run([*argv, str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert second.returncode == 0, second.stdout + second.stderr
    assert leftovers(compose_engine, "crashed") == []
    assert leftovers(compose_engine, "fresh") == []


def test_a_live_session_of_the_suite_is_left_alone(compose_engine: EngineHandle, tmp_path: Path) -> None:
    """Two sessions of one suite at once (xdist, two terminals): neither takes the other's stack down."""
    (tmp_path / "compose.yaml").write_text(STACK)
    from compose.pytest_reap import reap, session_labels

    mine = Project.load(tmp_path, project_name="alive", host=compose_engine.host, labels=session_labels(str(tmp_path)))
    try:
        mine.up()
        assert reap(str(tmp_path), compose_engine.host) == []
        time.sleep(0.1)
        assert [c["State"] for c in mine.ps()] == ["running"]
    finally:
        mine.down()
