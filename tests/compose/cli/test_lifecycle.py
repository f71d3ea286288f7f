"""`start`, `stop`, `restart`, `kill`, `rm`, `create`, `pause`, `unpause` and `top` end to end."""

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
    command: ["sh", "-c", "trap 'echo got TERM; exit 0' TERM; trap 'echo got HUP' HUP; while true; do sleep 0.1; done"]
    depends_on: [db]
  db:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
"""


def test_create_start_stop_restart(stack: Stack) -> None:
    stack.write(APP)
    created = stack.ok("--progress", "plain", "create")
    assert f" Container {stack.name}-web-1  Created" in created.stderr.splitlines()
    assert set(stack.states().values()) == {"created"}
    stack.ok("start")
    assert set(stack.states().values()) == {"running"}
    stopped = stack.ok("--progress", "plain", "stop", "-t", "5")
    lines = stopped.stderr.splitlines()
    assert lines.index(f" Container {stack.name}-web-1  Stopped") < lines.index(
        f" Container {stack.name}-db-1  Stopping")
    assert set(stack.states().values()) == {"exited"}
    stack.ok("start", "db")
    assert stack.states()[f"{stack.name}-db-1"] == "running"
    before = stack.inspect(f"{stack.name}-db-1")["State"]["StartedAt"]
    stack.ok("restart", "-t", "5", "db")
    assert stack.inspect(f"{stack.name}-db-1")["State"]["StartedAt"] > before


def test_kill_with_a_signal_and_by_default(stack: Stack) -> None:
    stack.write(APP)
    stack.ok("up", "-d")
    stack.ok("kill", "-s", "HUP", "web")
    assert stack.states()[f"{stack.name}-web-1"] == "running"
    killed = stack.ok("--progress", "plain", "kill")
    assert f" Container {stack.name}-web-1  Killed" in killed.stderr.splitlines()
    assert set(stack.states().values()) == {"exited"}
    assert "no container to kill" in stack.ok("kill").stderr
    assert stack.inspect(f"{stack.name}-web-1")["State"]["ExitCode"] == 137


def test_pause_and_unpause_services(stack: Stack) -> None:
    stack.write(APP)
    stack.ok("up", "-d")
    paused = stack.ok("--progress", "plain", "pause", "web")
    assert f" Container {stack.name}-web-1  Paused" in paused.stderr.splitlines()
    assert stack.states() == {f"{stack.name}-web-1": "paused", f"{stack.name}-db-1": "running"}
    assert "no container to pause" in stack.ok("pause", "web").stderr
    stack.ok("pause")
    assert set(stack.states().values()) == {"paused"}
    unpaused = stack.ok("--progress", "plain", "unpause")
    assert f" Container {stack.name}-db-1  Unpaused" in unpaused.stderr.splitlines()
    assert set(stack.states().values()) == {"running"}
    stack.ok("pause", "db")
    stack.ok("stop", "-t", "5")  # a paused container resumes to take its stop signal
    assert set(stack.states().values()) == {"exited"}
    assert stack.inspect(f"{stack.name}-db-1")["State"]["ExitCode"] == 0


def test_top_shows_each_running_containers_processes(stack: Stack) -> None:
    stack.write(APP)
    stack.ok("up", "-d")
    shown = stack.ok("top").stdout
    blocks = [block.splitlines() for block in shown.strip().split("\n\n")]
    assert [b[0] for b in blocks] == [f"{stack.name}-db-1", f"{stack.name}-web-1"]
    assert all(b[1].split()[:2] == ["UID", "PID"] and len(b) >= 3 for b in blocks)
    assert "trap 'echo got TERM" in blocks[1][2] or any("trap 'echo got TERM" in line for line in blocks[1])
    stack.ok("stop", "-t", "5", "db")
    assert stack.ok("top", "db").stdout == ""


def test_rm_asks_removes_stopped_ones_and_stops_with_s(stack: Stack) -> None:
    stack.write(APP)
    stack.ok("up", "-d")
    assert "No stopped containers" in stack.ok("rm", "-f").stderr
    stack.ok("stop", "-t", "5", "web")
    declined = stack.ok("rm", stdin="n\n")
    assert f"Going to remove {stack.name}-web-1" in declined.stdout
    assert f"{stack.name}-web-1" in stack.states()
    stack.ok("rm", stdin="y\n")
    assert sorted(stack.states()) == [f"{stack.name}-db-1"]
    stack.ok("rm", "-f", "-s", "-v")
    assert stack.states() == {}
