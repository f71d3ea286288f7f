"""`logs -f` keeps following a container that its restart policy restarts, and ends when it stays down.
(Restarts by `pycompose restart` are in test_logs.py.)"""

from __future__ import annotations

import pytest

from tests.compose.cli import compose_e2e
from tests.compose.cli.compose_e2e import Stack, wait_for

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]
compose_engine = compose_e2e.compose_engine  # a fixture: the module's engine
stack = compose_e2e.stack  # a fixture: a project folder and name, taken down after the test


def test_logs_follow_across_restart_policy_restarts(stack: Stack) -> None:
    stack.write("""
services:
  flaky:
    image: busybox
    network_mode: none
    restart: on-failure:2
    command: ["sh", "-c", "sleep 0.5; echo attempt; exit 1"]
""")
    stack.ok("up", "-d")
    follow = stack.popen("--ansi", "never", "logs", "-f")
    try:
        out, err = follow.communicate(timeout=90)  # ends once the policy gives up and nothing runs
    finally:
        if follow.poll() is None:
            follow.kill()
            follow.wait()
    assert follow.returncode == 0, err
    assert out.splitlines().count("flaky-1  | attempt") == 3, out  # the first run and two restarts
    assert wait_for(lambda: stack.states() == {f"{stack.name}-flaky-1": "exited"})
    assert stack.inspect(f"{stack.name}-flaky-1")["RestartCount"] == 2
