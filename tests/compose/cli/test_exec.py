"""`pycompose exec` end to end: output, exit status, options, replicas."""

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
  off:
    image: busybox
    network_mode: none
    command: ["true"]
"""


@pytest.fixture
def up(stack: Stack) -> Stack:
    stack.write(APP)
    stack.ok("up", "-d", "--scale", "web=2")
    return stack


def test_exec_output_and_status(up: Stack) -> None:
    result = up.run("exec", "-T", "web", "sh", "-c", "echo out; echo err >&2; exit 7")
    assert (result.returncode, result.stdout, result.stderr) == (7, "out\n", "err\n")


def test_exec_options(up: Stack) -> None:
    result = up.ok("exec", "-T", "-e", "GREETING=hi", "-w", "/tmp", "-u", "nobody", "web",
                   "sh", "-c", 'echo "$GREETING $(pwd) $(id -u)"')
    assert result.stdout == "hi /tmp 65534\n"
    first = up.ok("exec", "-T", "web", "hostname").stdout
    second = up.ok("exec", "-T", "--index", "2", "web", "hostname").stdout
    assert first != second


def test_exec_reads_stdin(up: Stack) -> None:
    assert up.ok("exec", "-T", "web", "cat", stdin="piped\n").stdout == "piped\n"


def test_exec_detached(up: Stack) -> None:
    assert up.ok("exec", "-d", "web", "sh", "-c", "echo later > /tmp/mark").stdout == ""
    assert up.ok("exec", "-T", "web", "sh", "-c", "sleep 0.3; cat /tmp/mark").stdout == "later\n"


def test_exec_in_a_stopped_or_unknown_service(up: Stack) -> None:
    stopped = up.run("exec", "-T", "off", "true")
    assert stopped.returncode == 1 and 'service "off" is not running' in stopped.stderr
    unknown = up.run("exec", "-T", "nope", "true")
    assert unknown.returncode == 1 and "no such service: nope" in unknown.stderr
