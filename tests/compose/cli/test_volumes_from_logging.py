"""Compose `volumes_from` (read-only) and `logging: {driver: local}` end to end, as a service sees them."""

from __future__ import annotations

import pytest

from tests.compose.cli import compose_e2e
from tests.compose.cli.compose_e2e import Stack

pytestmark = pytest.mark.root
compose_engine = compose_e2e.compose_engine  # a fixture: the module's engine
stack = compose_e2e.stack  # a fixture: a project folder and name, taken down after the test

APP = """
services:
  data:
    image: busybox
    command: ["sh", "-c", "echo shared > /data/f; trap 'exit 0' TERM; while true; do sleep 0.1; done"]
    volumes: [store:/data]
  reader:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
    volumes_from: ["data:ro"]
    depends_on: [data]
    logging:
      driver: local
      options: {max-size: 1m}
volumes:
  store: {}
"""


def test_volumes_from_and_a_local_log(stack: Stack) -> None:
    stack.write(APP)
    stack.ok("up", "-d")
    assert stack.ok("exec", "-T", "reader", "cat", "/data/f").stdout == "shared\n"
    denied = stack.run("exec", "-T", "reader", "sh", "-c", "echo x > /data/g")
    assert denied.returncode != 0 and "Read-only file system" in denied.stderr
    stack.ok("exec", "-T", "reader", "sh", "-c", "echo to-the-log > /proc/1/fd/1")
    assert "to-the-log" in stack.ok("logs", "reader").stdout
