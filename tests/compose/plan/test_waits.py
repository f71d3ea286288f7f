"""One wait operation per container and condition, whoever asks: its Waiting/Healthy lines show once."""

from __future__ import annotations

from pathlib import Path

from compose.plan import Kind, UpOptions, plan_up
from compose.plan.payloads import Wait
from tests.compose.plan.fixtures import load, state


def test_a_required_and_an_optional_asker_share_one_required_wait(tmp_path: Path) -> None:
    project = load(tmp_path, """
services:
  db: {image: a, healthcheck: {test: ["CMD", "true"]}}
  web: {image: b, depends_on: {db: {condition: service_healthy, required: false}}}
  api: {image: b, depends_on: {db: {condition: service_healthy}}}
""")
    for options in (UpOptions(), UpOptions(wait=True), UpOptions(wait=True, wait_timeout=5)):
        plan = plan_up(project, state(project), options)
        waits = [op for op in plan.of_kind(Kind.WAIT_CONDITION) if op.resource == "Container p-db-1"]
        assert len(waits) == 1, options
        payload = waits[0].payload
        assert isinstance(payload, Wait) and payload.condition == "service_healthy" and payload.required
        for name in ("web", "api"):
            start = plan.find(Kind.START_CONTAINER, f"Container p-{name}-1")
            assert start is not None and plan.precedes(waits[0].id, start.id)
        if options.wait_timeout:
            assert payload.timeout_message == "application not healthy after 5s"
