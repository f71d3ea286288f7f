"""testcontainers-python against our engine: DockerContainer (ports, exec, logs, wait strategies), Network,
and DockerCompose with our CLI as its `docker_command_path`.

Ryuk (testcontainers' reaper) is disabled: it is an image on Docker Hub, which this machine cannot reach;
the tests remove what they start themselves (context managers), and the leak check holds them to it.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compose.cli import compose_e2e
from tests.compose.cli.compose_e2e import PYCOMPOSE
from tests.engine_fixture import EngineHandle

pytestmark = [pytest.mark.root, pytest.mark.timeout(240)]
compose_engine = compose_e2e.compose_engine


@pytest.fixture
def tc_env(compose_engine: EngineHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[EngineHandle]:
    """testcontainers reads its engine and settings from the environment (at import of its config, too)."""
    monkeypatch.setenv("DOCKER_HOST", compose_engine.host)
    monkeypatch.setenv("TESTCONTAINERS_RYUK_DISABLED", "true")  # Ryuk's image is on Docker Hub: unreachable
    from testcontainers.core.config import testcontainers_config

    monkeypatch.setattr(testcontainers_config, "ryuk_disabled", True)
    yield compose_engine


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=3) as response:
        return response.read().decode()


def test_docker_container_ports_exec_logs_and_waits(tc_env: EngineHandle) -> None:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import HttpWaitStrategy, LogMessageWaitStrategy
    from testcontainers.core.waiting_utils import wait_for_logs

    command = "sh -c 'mkdir -p /www && echo tc > /www/index.html && echo serving && exec httpd -f -p 80 -h /www'"
    container = (DockerContainer("busybox:latest").with_command(command).with_exposed_ports(80)
                 .with_env("COLOR", "blue").waiting_for(LogMessageWaitStrategy("serving")))
    with container:
        wait_for_logs(container, "serving", timeout=30)
        HttpWaitStrategy(80).for_status_code(200).with_startup_timeout(30).wait_until_ready(container)
        host, port = container.get_container_host_ip(), int(container.get_exposed_port(80))
        assert fetch(f"http://{host}:{port}/") == "tc\n"
        code, output = container.exec(["sh", "-c", "echo $COLOR"])
        assert (code, output) == (0, b"blue\n")
        stdout, _ = container.get_logs()
        assert b"serving" in stdout


def test_network_with_aliases(tc_env: EngineHandle) -> None:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.network import Network

    with Network() as network:
        server = (DockerContainer("busybox:latest")
                  .with_command("sh -c 'mkdir -p /w && echo net > /w/i && exec httpd -f -p 8000 -h /w'")
                  .with_network(network).with_network_aliases("server"))
        with server:
            client = DockerContainer("busybox:latest").with_command("sleep 1000000").with_network(network)
            with client:
                code = 1
                for _ in range(50):
                    code, output = client.exec(["wget", "-q", "-O", "-", "http://server:8000/i"])
                    if code == 0:
                        break
                assert (code, output) == (0, b"net\n")


COMPOSE = """
services:
  web:
    image: busybox:latest
    command: ["sh", "-c", "mkdir -p /w && echo compose > /w/i && exec httpd -f -p 8080 -h /w"]
    ports: ["8080"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/i"]
      interval: 5s
      start_interval: 100ms
      start_period: 10s
  job:
    image: busybox:latest
    command: ["sh", "-c", "echo job says hi; exec sleep 1000000"]
"""


def test_docker_compose_with_our_cli(tc_env: EngineHandle, tmp_path: Path) -> None:
    from testcontainers.compose import DockerCompose

    (tmp_path / "compose.yaml").write_text(COMPOSE)
    compose = DockerCompose(tmp_path, compose_file_name="compose.yaml", docker_command_path=PYCOMPOSE, wait=True)
    with compose:
        host, port = compose.get_service_host_and_port("web", 8080)
        assert fetch(f"http://{host}:{port}/i") == "compose\n"
        assert {c.Service for c in compose.get_containers()} == {"web", "job"}
        stdout, _, code = compose.exec_in_container(["cat", "/w/i"], service_name="web")
        assert (stdout, code) == ("compose\n", 0)
        logs, _ = compose.get_logs("job")
        assert "job says hi" in logs
    assert os.environ["DOCKER_HOST"] == tc_env.host
    assert compose.get_containers(include_all=True) == []
