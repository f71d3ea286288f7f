"""`pycompose down` end to end: what it removes, from the file or from `-p NAME` alone."""

from __future__ import annotations

import pytest

from tests.compose.cli import compose_e2e
from tests.compose.cli.compose_e2e import Stack

pytestmark = pytest.mark.root
compose_engine = compose_e2e.compose_engine  # a fixture: the module's engine
stack = compose_e2e.stack  # a fixture: a project folder and name, taken down after the test

APP = """
services:
  web:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
    depends_on: [db]
  db:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
"""


def test_down_stops_dependents_first_and_removes_everything(stack: Stack) -> None:
    stack.write(APP)
    stack.ok("up", "-d")
    result = stack.ok("--progress", "plain", "down", "-t", "5")
    lines = result.stderr.splitlines()
    assert lines.index(f" Container {stack.name}-web-1  Stopped") < lines.index(
        f" Container {stack.name}-db-1  Stopping")
    assert f" Container {stack.name}-db-1  Removed" in lines
    assert stack.containers() == []


def test_down_by_project_name_without_a_file(stack: Stack) -> None:
    stack.write(APP)
    stack.ok("up", "-d")
    stack.dir.joinpath("compose.yaml").unlink()
    stack.ok("down", "-t", "0")
    assert stack.containers() == []


def test_down_of_nothing_warns(stack: Stack) -> None:
    stack.write(APP)
    result = stack.ok("down")
    assert f'No resource found to remove for project "{stack.name}"' in result.stderr


def test_down_some_services_and_orphans(stack: Stack) -> None:
    stack.write(APP)
    stack.ok("up", "-d")
    stack.ok("down", "-t", "0", "web")
    assert sorted(stack.states()) == [f"{stack.name}-db-1"]
    stack.ok("up", "-d")
    stack.write(APP.split("  db:")[0].replace("    depends_on: [db]\n", ""))
    stack.ok("down", "-t", "0")
    assert sorted(stack.states()) == [f"{stack.name}-db-1"]  # an orphan stays without --remove-orphans
    stack.ok("down", "-t", "0", "--remove-orphans")
    assert stack.containers() == []


def test_down_rmi_local_leaves_named_images(stack: Stack) -> None:
    stack.write(APP)
    stack.ok("up", "-d")
    stack.ok("down", "-t", "0", "--rmi", "local")
    import docker

    client = docker.APIClient(base_url=stack.handle.host)
    try:
        assert client.inspect_image("busybox:latest")["Id"]
    finally:
        client.close()


def test_down_removes_networks_and_with_v_volumes(stack: Stack) -> None:
    stack.write("""
services:
  app:
    image: busybox
    command: ["sleep", "60"]
    volumes: ["data:/data"]
volumes:
  data: {}
""")
    stack.ok("up", "-d")
    kept = stack.ok("--progress", "plain", "down", "-t", "0")
    assert f" Network {stack.name}_default  Removed" in kept.stderr.splitlines()
    stack.ok("up", "-d")
    gone = stack.ok("--progress", "plain", "down", "-t", "0", "-v")
    assert f' Volume "{stack.name}_data"  Removed' in gone.stderr.splitlines()
