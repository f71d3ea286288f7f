"""The drop-in for `docker compose`: `pycompose compose …`, and after `pycompose install-plugin` (in a
temporary DOCKER_CONFIG) the real docker CLI's `docker compose version` and `docker compose up -d`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.compose.cli import compose_e2e
from tests.compose.cli.compose_e2e import PYCOMPOSE, Stack, environ
from tests.compose.cli.engines import DOCKER

pytestmark = [pytest.mark.root, pytest.mark.timeout(180)]
compose_engine = compose_e2e.compose_engine
stack = compose_e2e.stack
APP = "services:\n  app:\n    image: busybox\n    init: true\n    command: [sleep, '1000000']\n"


def test_compose_as_the_first_argument(stack: Stack) -> None:
    """`<binary> compose …`, as testcontainers' DockerCompose(docker_command_path=…) runs it."""
    stack.write(APP)

    def compose(*args: str) -> str:
        result = subprocess.run([PYCOMPOSE, "compose", "-p", stack.name, *args], cwd=stack.dir,
                                env=environ(stack.handle), capture_output=True, text=True, timeout=90, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    compose("up", "-d")
    assert [json.loads(line)["Service"] for line in compose("ps", "--format", "json").splitlines()] == ["app"]
    compose("down")
    assert stack.containers() == []


def test_metadata_for_the_docker_cli(tmp_path: Path) -> None:
    result = subprocess.run([PYCOMPOSE, "docker-cli-plugin-metadata"], capture_output=True, text=True, check=True,
                            env={**os.environ, "HOME": str(tmp_path)})
    meta = json.loads(result.stdout)
    assert meta["SchemaVersion"] == "0.1.0" and meta["Vendor"] == "pycompose"
    assert meta["Version"] and meta["ShortDescription"]


@pytest.mark.skipif(DOCKER is None, reason="the docker CLI is not installed on this machine")
def test_install_plugin_then_the_real_docker_compose(stack: Stack, tmp_path: Path) -> None:
    config = tmp_path / "docker-config"
    env = {"DOCKER_CONFIG": str(config)}
    installed = stack.ok("install-plugin", env=env)
    plugin = config / "cli-plugins" / "docker-compose"
    assert str(plugin) in installed.stdout and os.access(plugin, os.X_OK)

    def docker(*args: str) -> subprocess.CompletedProcess[str]:
        assert DOCKER is not None
        result = subprocess.run([DOCKER, *args], cwd=stack.dir, env=environ(stack.handle, env), capture_output=True,
                                text=True, timeout=90, check=False)
        assert result.returncode == 0, f"docker {' '.join(args)}: {result.stdout}{result.stderr}"
        return result

    assert "Docker Compose (pycompose)" in docker("--help").stdout  # the docker CLI lists our plugin
    assert docker("compose", "version").stdout == stack.ok("version").stdout
    stack.write(APP)
    docker("compose", "-p", stack.name, "up", "-d")
    assert [c["State"] for c in stack.containers()] == ["running"]
    docker("compose", "-p", stack.name, "down")
    assert stack.containers() == []


def test_install_plugin_into_an_unwritable_place(stack: Stack, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    result = stack.run("install-plugin", "--dir", str(tmp_path / "file" / "sub"))
    assert result.returncode == 1 and result.stderr.startswith("Error: cannot install the plugin in ")
    assert "Traceback" not in result.stderr
