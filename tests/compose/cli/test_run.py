"""`pycompose run` end to end: one-off containers, their dependencies, options and exit status."""

from __future__ import annotations

import json

import pytest

from tests.compose.cli import compose_e2e
from tests.compose.cli.compose_e2e import Stack

pytestmark = pytest.mark.root
compose_engine = compose_e2e.compose_engine  # a fixture: the module's engine
stack = compose_e2e.stack  # a fixture: a project folder and name, taken down after the test

APP = """
services:
  app:
    image: busybox
    network_mode: none
    command: ["echo", "default command"]
    environment: {FROM_FILE: "yes"}
    depends_on: [db]
  db:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
"""


def test_run_starts_dependencies_and_returns_the_exit_status(stack: Stack) -> None:
    stack.write(APP)
    result = stack.run("run", "--rm", "-T", "app", "sh", "-c", 'echo "$FROM_FILE $EXTRA"; exit 6',
                       env={"EXTRA_UNUSED": "1"})
    assert result.returncode == 6, result.stderr
    assert result.stdout == "yes \n"
    states = stack.states()
    assert states == {f"{stack.name}-db-1": "running"}  # --rm removed the one-off container


def test_run_options(stack: Stack) -> None:
    stack.write(APP)
    result = stack.ok("run", "--no-deps", "-T", "-e", "EXTRA=set", "-w", "/tmp", "-u", "nobody",
                      "--entrypoint", "sh -c", "--name", f"{stack.name}-custom", "app",
                      'echo "$EXTRA $(pwd) $(id -u)"')
    assert result.stdout == "set /tmp 65534\n"
    assert f"{stack.name}-db-1" not in stack.states()
    info = stack.inspect(f"{stack.name}-custom")
    assert info["Config"]["Labels"]["com.docker.compose.oneoff"] == "True"
    assert info["HostConfig"]["RestartPolicy"]["Name"] in ("no", "")
    stack.ok("rm", "-f")  # one-off containers are not the services' containers: rm leaves them
    assert f"{stack.name}-custom" in stack.states()


def test_run_default_command_and_detached(stack: Stack) -> None:
    stack.write(APP)
    assert stack.ok("run", "-T", "app").stdout == "default command\n"
    detached = stack.ok("run", "-d", "app", "sleep", "30")
    name = detached.stdout.strip()
    assert name.startswith(f"{stack.name}-app-run-") and len(name) == len(f"{stack.name}-app-run-") + 12
    rows = [json.loads(line) for line in stack.ok("ps", "--format", "json").stdout.splitlines()]
    assert name in {r["Name"] for r in rows}


def test_run_unknown_service(stack: Stack) -> None:
    stack.write(APP)
    result = stack.run("run", "nope")
    assert result.returncode == 1 and "no such service: nope" in result.stderr
