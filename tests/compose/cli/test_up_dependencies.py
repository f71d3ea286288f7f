"""`up` and depends_on, seen from the containers: start order, a failing health gate, and restarts that follow a
recreated dependency. (Healthy/completed gates, `--wait`, `--exit-code-from` and recreating only what changed are
in test_up.py; `logs -f` across restarts in test_logs.py.)"""

from __future__ import annotations

import datetime

import pytest

from tests.compose.cli import compose_e2e
from tests.compose.cli.compose_e2e import Stack

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]
compose_engine = compose_e2e.compose_engine  # a fixture: the module's engine
stack = compose_e2e.stack  # a fixture: a project folder and name, taken down after the test

LOOP = '["sh", "-c", "trap \'exit 0\' TERM; while true; do sleep 0.1; done"]'


def started_at(stack: Stack, name: str) -> datetime.datetime:
    """State.StartedAt with its nanoseconds cut to what datetime holds."""
    text = stack.inspect(f"{stack.name}-{name}-1")["State"]["StartedAt"]
    head, _, frac = text.rstrip("Z").partition(".")
    return datetime.datetime.fromisoformat(f"{head}.{(frac or '0')[:6]:0<6}+00:00")


def test_containers_start_in_dependency_order(stack: Stack) -> None:
    stack.write(f"""
services:
  web: {{image: busybox, network_mode: none, command: {LOOP}, depends_on: [api]}}
  api: {{image: busybox, network_mode: none, command: {LOOP}, depends_on: [db]}}
  db: {{image: busybox, network_mode: none, command: {LOOP}}}
""")
    stack.ok("up", "-d")
    assert started_at(stack, "db") < started_at(stack, "api") < started_at(stack, "web")


def test_an_unhealthy_dependency_fails_up_and_its_dependent_never_starts(stack: Stack) -> None:
    stack.write(f"""
services:
  db:
    image: busybox
    network_mode: none
    command: {LOOP}
    healthcheck: {{test: ["CMD", "false"], interval: 100ms, retries: 2}}
  web:
    image: busybox
    network_mode: none
    command: {LOOP}
    depends_on: {{db: {{condition: service_healthy}}}}
""")
    result = stack.run("up", "-d", timeout=60)  # a hang would time out here: the gate must fail, not wait
    assert result.returncode == 1, result.stderr
    assert f"dependency failed to start: container {stack.name}-db-1 is unhealthy" in result.stderr
    assert stack.states() == {f"{stack.name}-db-1": "running", f"{stack.name}-web-1": "created"}


def test_recreating_a_dependency_restarts_dependents_that_ask_for_it(stack: Stack) -> None:
    text = f"""
services:
  db: {{image: busybox, network_mode: none, command: {LOOP}}}
  web:
    image: busybox
    network_mode: none
    command: {LOOP}
    depends_on: {{db: {{condition: service_started, restart: true}}}}
  worker:
    image: busybox
    network_mode: none
    command: {LOOP}
    depends_on: [db]
"""
    stack.write(text)
    stack.ok("up", "-d")
    ids = {c["Service"]: c["ID"] for c in stack.containers()}
    before = {s: started_at(stack, s) for s in ("db", "web", "worker")}
    stack.write(text.replace("  db: {image: busybox,", "  db: {image: busybox, environment: {V: '2'},"))
    result = stack.ok("--progress", "plain", "up", "-d")
    after_ids = {c["Service"]: c["ID"] for c in stack.containers()}
    assert after_ids["db"] != ids["db"]  # recreated
    assert after_ids["web"] == ids["web"] and after_ids["worker"] == ids["worker"]  # neither recreated
    assert started_at(stack, "web") > before["web"]  # restarted with its dependency
    assert started_at(stack, "worker") == before["worker"]  # left alone: no `restart: true`
    assert started_at(stack, "web") > started_at(stack, "db")
    assert set(stack.states().values()) == {"running"}
    assert f" Container {stack.name}-db-1  Recreated" in result.stderr.splitlines()
