"""`pycompose ps` end to end: which containers, and the table, JSON, -q and --services forms."""

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
  web:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
  job:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "exit 3"]
"""


@pytest.fixture
def up(stack: Stack) -> Stack:
    stack.write(APP)
    stack.ok("up", "-d")
    stack.ok("up", "-d")  # the second call sees job exited: nothing moves
    return stack


def test_ps_table_shows_running_ones_by_default(up: Stack) -> None:
    result = up.ok("ps")
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"]
    assert len(rows) == 1 and rows[0].startswith(f"{up.name}-web-1 ") and " web " in rows[0]
    assert len(up.ok("ps", "-a").stdout.splitlines()) == 3


def test_ps_json_quiet_services_and_status(up: Stack) -> None:
    rows = [json.loads(line) for line in up.ok("ps", "-a", "--format", "json").stdout.splitlines()]
    by_service = {r["Service"]: r for r in rows}
    assert by_service["job"]["State"] == "exited" and by_service["job"]["ExitCode"] == 3
    assert by_service["web"]["State"] == "running" and by_service["web"]["Project"] == up.name
    assert by_service["web"]["Name"] == f"{up.name}-web-1"
    ids = up.ok("ps", "-q", "-a").stdout.split()
    assert len(ids) == 2 and all(len(i) == 64 for i in ids)
    assert up.ok("ps", "--services").stdout == "web\n"
    assert up.ok("ps", "--services", "-a").stdout == "job\nweb\n"
    assert up.ok("ps", "--status", "exited", "--format", "{{.Name}}").stdout == f"{up.name}-job-1\n"
    assert len(up.ok("ps", "--filter", "status=running", "-q").stdout.split()) == 1
    assert up.ok("ps", "-a", "--format", "{{.Service}}", "job").stdout == "job\n"
    assert up.run("ps", "nope").returncode == 1
