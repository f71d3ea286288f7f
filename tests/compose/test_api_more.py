"""The Python API's typed results, service_ip, wait_healthy and cp (both ways), against a private engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from compose.api import Endpoint, ExecResult, Project
from compose.errors import ComposeError
from tests.compose.cli import compose_e2e
from tests.engine_fixture import EngineHandle

pytestmark = [pytest.mark.root, pytest.mark.timeout(180)]
compose_engine = compose_e2e.compose_engine

APP = """
services:
  web:
    image: busybox
    init: true
    command: ["sh", "-c", "mkdir -p /www /data && echo hi > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: ["8080"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
      interval: 5s
      start_interval: 100ms
      start_period: 10s
  side:
    image: busybox
    init: true
    command: ["sleep", "1000000"]
    networks: [default, back]
networks:
  back: {}
"""


@pytest.fixture
def project(compose_engine: EngineHandle, tmp_path: Path) -> Iterator[Project]:
    (tmp_path / "compose.yaml").write_text(APP)
    stack = Project.load(tmp_path, project_name="apimore", host=compose_engine.host)
    stack.up(wait=False)
    yield stack
    stack.down()


def test_typed_results_and_wait_healthy(project: Project) -> None:
    project.wait_healthy("web", timeout=30)
    project.wait_healthy(timeout=30)  # every service: `side` has no healthcheck and runs
    endpoint = project.port("web", 8080)
    assert isinstance(endpoint, Endpoint) and endpoint.host == "127.0.0.1" and endpoint.port > 0
    result = project.exec("web", "cat /www/index.html")
    assert isinstance(result, ExecResult) and result.exit_code == 0 and result.output == "hi\n"
    with pytest.raises(ComposeError, match="no such service: nope"):
        project.wait_healthy("nope")


def test_wait_healthy_times_out_on_a_starting_service(compose_engine: EngineHandle, tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("""
services:
  slow:
    image: busybox
    init: true
    command: ["sleep", "1000000"]
    healthcheck: {test: ["CMD", "false"], interval: 30s, start_period: 60s}
""")
    stack = Project.load(tmp_path, project_name="apislow", host=compose_engine.host)
    try:
        stack.up(wait=False)
        with pytest.raises(ComposeError, match=r"timeout: apislow-slow-1 not healthy after 0.5s"):
            stack.wait_healthy("slow", timeout=0.5)
    finally:
        stack.down()


def test_service_ip(project: Project) -> None:
    ip = project.service_ip("web")
    assert ip.count(".") == 3
    back = project.service_ip("side", "back")
    default = project.service_ip("side", "default")
    assert back != default and back.count(".") == 3
    with pytest.raises(ComposeError, match="is on 2 networks"):
        project.service_ip("side")
    with pytest.raises(ComposeError, match="not on network nope"):
        project.service_ip("web", "nope")
    assert project.exec("side", ["wget", "-q", "-O", "-", f"http://{ip}:8080/"]).output == "hi\n"


def test_cp_into_and_out_of_a_running_container(project: Project, tmp_path: Path) -> None:
    project.wait_healthy("web", timeout=30)
    local = tmp_path / "page.html"
    local.write_text("copied in\n")
    project.cp(str(local), "web:/www/")  # into a folder: keeps its name
    assert project.exec("web", "cat /www/page.html").output == "copied in\n"
    project.cp(str(local), "web:/www/renamed.html")  # to a new name
    assert project.exec("web", "cat /www/renamed.html").output == "copied in\n"
    folder = tmp_path / "tree"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "f.txt").write_text("deep\n")
    project.cp(str(folder), "web:/data/")
    assert project.exec("web", "cat /data/tree/sub/f.txt").output == "deep\n"

    out = tmp_path / "out"
    out.mkdir()
    project.cp("web:/www/index.html", str(out))  # out into a folder: keeps its name
    assert (out / "index.html").read_text() == "hi\n"
    project.cp("web:/www/index.html", str(out / "copy.html"))
    assert (out / "copy.html").read_text() == "hi\n"
    project.cp("web:/data/tree", str(out))
    assert (out / "tree" / "sub" / "f.txt").read_text() == "deep\n"
    with pytest.raises(ComposeError, match="one side must be SERVICE:PATH"):
        project.cp(str(local), str(out))
