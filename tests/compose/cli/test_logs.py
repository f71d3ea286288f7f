"""`pycompose logs` end to end: prefixes, selections, and -f following restarts."""

from __future__ import annotations

import time

import pytest

from tests.compose.cli import compose_e2e
from tests.compose.cli.compose_e2e import Stack, wait_for

pytestmark = pytest.mark.root
compose_engine = compose_e2e.compose_engine  # a fixture: the module's engine
stack = compose_e2e.stack  # a fixture: a project folder and name, taken down after the test

APP = """
services:
  web:
    image: busybox
    network_mode: none
    command:
      - sh
      - -c
      - "echo web one; echo web two; echo web err >&2; trap 'echo web bye; exit 0' TERM; while true; do sleep 0.1; done"
  job:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "echo job says $$HOSTNAME"]
"""


@pytest.fixture
def up(stack: Stack) -> Stack:
    stack.write(APP)
    stack.ok("up", "-d", "--scale", "web=2")
    assert wait_for(lambda: "web two" in stack.ok("logs", "web").stdout)
    return stack


def test_logs_prefixes_and_streams(up: Stack) -> None:
    result = up.ok("--ansi", "never", "logs")
    out = result.stdout.splitlines()
    assert "web-1  | web one" in out and "web-2  | web two" in out
    assert any(line.startswith("job-1  | job says ") for line in out)
    assert "web-1  | web err" in result.stderr.splitlines()
    bare = up.ok("logs", "--no-log-prefix", "--index", "2", "web")
    assert bare.stdout == "web one\nweb two\n"
    tail = up.ok("--ansi", "never", "logs", "--tail", "1", "--index", "1", "web")
    assert tail.stdout + tail.stderr == "web-1  | web err\n" or tail.stdout == "web-1  | web two\n"
    stamped = up.ok("--ansi", "never", "logs", "-t", "job").stdout.splitlines()
    assert stamped[0].startswith("job-1  | 20") and stamped[0].split(" | ")[1].split(" ", 1)[1].startswith("job says")
    assert up.ok("logs", "--since", "1m", "job").stdout != ""
    assert up.ok("logs", "--until", "2000-01-01T00:00:00Z", "job").stdout == ""
    assert "\x1b[" in up.ok("--ansi", "always", "logs", "job").stdout


def test_logs_follow_sees_restarts_and_ends_when_everything_stopped(up: Stack) -> None:
    process = up.popen("--ansi", "never", "logs", "-f", "web")
    try:
        time.sleep(1.0)
        up.ok("restart", "-t", "5", "web")
        time.sleep(1.0)
        up.ok("stop", "-t", "5")
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    lines = out.splitlines()
    assert process.returncode == 0, err
    assert lines.count("web-1  | web one") == 2  # the first run's history, then the restart's output
    assert lines.count("web-1  | web bye") == 2
    assert "web-1 exited with code 0" in lines and "web-2 exited with code 0" in lines
