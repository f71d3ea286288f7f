"""`--dry-run`: the operations a plan holds, shown without touching the engine, and exactly those a real run does."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.compose.cli import compose_e2e
from tests.compose.cli.compose_e2e import Stack

pytestmark = pytest.mark.root
compose_engine = compose_e2e.compose_engine  # a fixture: the module's engine
stack = compose_e2e.stack  # a fixture: a project folder and name, taken down after the test

PREFIX = "DRY-RUN MODE - "
LOOP = '["sh", "-c", "trap \'exit 0\' TERM; while true; do sleep 0.1; done"]'


def app(greeting: str) -> str:
    return f"""
services:
  db:
    image: busybox
    command: {LOOP}
  web:
    image: busybox
    command: {LOOP}
    environment: {{GREETING: {greeting}}}
    depends_on: [db]
  cache:
    image: busybox
    network_mode: none
    command: {LOOP}
"""


def progress_lines(stderr: str) -> Counter[str]:
    """The plain progress lines (resource and status), as a multiset: parallel steps may interleave."""
    return Counter(" ".join(line.split()) for line in stderr.splitlines() if line.startswith(" "))


def ids(stack: Stack) -> dict[str, str]:
    return {c["Name"]: c["ID"] for c in stack.containers()}


def test_up_dry_run_shows_exactly_what_the_real_up_then_does(stack: Stack) -> None:
    stack.write(app("hello"))
    stack.ok("up", "-d")
    before = ids(stack)
    stack.write(app("changed"))  # one service changed: web is recreated, db and cache stay
    dry = stack.ok("--dry-run", "--progress", "plain", "up", "-d")
    assert ids(stack) == before  # nothing touched
    shown = progress_lines(dry.stderr)
    assert shown and all(line.startswith(PREFIX.strip()) for line in shown)
    real = stack.ok("--progress", "plain", "up", "-d")
    done = progress_lines(real.stderr)
    assert Counter({line.removeprefix(PREFIX.strip()).strip(): n for line, n in shown.items()}) == done
    assert f"Container {stack.name}-web-1 Recreated" in done, (dry.stderr, real.stderr)
    after = ids(stack)
    assert after[f"{stack.name}-db-1"] == before[f"{stack.name}-db-1"]
    assert after[f"{stack.name}-web-1"] != before[f"{stack.name}-web-1"]
    dry_down = progress_lines(stack.ok("--dry-run", "--progress", "plain", "down", "-t", "1").stderr)
    assert ids(stack) == after
    real_down = progress_lines(stack.ok("--progress", "plain", "down", "-t", "1").stderr)
    assert Counter({line.removeprefix(PREFIX.strip()).strip(): n for line, n in dry_down.items()}) == real_down
    assert f"Network {stack.name}_default Removed" in real_down and stack.containers() == []


def test_dry_run_of_a_fresh_up_and_of_down_leaves_the_engine_alone(stack: Stack) -> None:
    stack.write(app("hello"))
    dry = stack.ok("--dry-run", "--progress", "plain", "up", timeout=30)  # attached: a dry run follows no logs
    assert f"{PREFIX.strip()} Container {stack.name}-web-1 Started" in progress_lines(dry.stderr)
    assert f"{PREFIX.strip()} Network {stack.name}_default Created" in progress_lines(dry.stderr)
    assert stack.containers() == []
    stack.ok("up", "-d")
    before = ids(stack)
    for args in (("down",), ("stop",), ("restart",), ("kill",), ("pause",), ("rm", "-f"), ("scale", "web=2")):
        result = stack.ok("--dry-run", "--progress", "plain", *args)
        assert all(line.startswith(PREFIX.strip()) for line in progress_lines(result.stderr)), args
        assert ids(stack) == before and set(stack.states().values()) == {"running"}, args
    (stack.dir / "f.txt").write_text("x")
    copied = stack.ok("--dry-run", "--progress", "plain", "cp", "f.txt", "web:/f.txt")
    assert PREFIX.strip() in copied.stderr
    assert stack.run("exec", "-T", "web", "cat", "/f.txt").returncode != 0
    refused = stack.run("--dry-run", "exec", "web", "true")
    assert refused.returncode == 2 and "--dry-run is not supported by exec" in refused.stderr


def test_wait_on_a_healthy_dependency_shows_each_container_once(stack: Stack) -> None:
    stack.write(f"""
services:
  db:
    image: busybox
    network_mode: none
    command: {LOOP}
    healthcheck: {{test: ["CMD", "true"], interval: 200ms}}
  web:
    image: busybox
    network_mode: none
    command: {LOOP}
    depends_on: {{db: {{condition: service_healthy}}}}
""")
    dry = progress_lines(stack.ok("--dry-run", "--progress", "plain", "up", "-d", "--wait").stderr)
    result = stack.ok("--progress", "plain", "up", "-d", "--wait")
    lines = progress_lines(result.stderr)
    assert Counter({line.removeprefix(PREFIX.strip()).strip(): n for line, n in dry.items()}) == lines
    assert lines[f"Container {stack.name}-db-1 Healthy"] == 1, result.stderr
    assert lines[f"Container {stack.name}-db-1 Waiting"] == 1, result.stderr


def test_pull_and_push_dry_runs_contact_no_registry(stack: Stack) -> None:
    stack.write("""
services:
  web: {image: "busybox", network_mode: none}
  app: {image: "localhost:1/nowhere/app:1", build: ., network_mode: none}
""")
    pulled = progress_lines(stack.ok("--dry-run", "--progress", "plain", "pull", "--policy", "always", "web").stderr)
    assert pulled == Counter({f"{PREFIX.strip()} web Pulled": 1})  # docker.io is out of reach: nothing was asked
    pushed = progress_lines(stack.ok("--dry-run", "--progress", "plain", "push").stderr)
    assert pushed == Counter({f"{PREFIX.strip()} app Pushed": 1, f"{PREFIX.strip()} web Skipped": 1})
