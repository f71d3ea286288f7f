"""Stop order when the dependency between two running services goes through one that has exited
(examples/migrate: db <- migrate (a one-shot, exited) <- app)."""

from __future__ import annotations

from pathlib import Path

from compose.plan import Kind, plan_down, plan_stop
from tests.compose.plan.fixtures import load, state, summary

APP = """
services:
  db: {image: busybox, network_mode: none}
  migrate: {image: busybox, network_mode: none, depends_on: [db]}
  app:
    image: busybox
    network_mode: none
    depends_on: {migrate: {condition: service_completed_successfully}}
"""


def test_the_dependent_stops_first_across_an_exited_service(tmp_path: Path) -> None:
    project = load(tmp_path, APP)
    observed = state(project, [summary(project, "db"), summary(project, "migrate", state="exited"),
                               summary(project, "app")])
    for plan in (plan_down(project, observed), plan_stop(project, observed)):
        app = plan.find(Kind.STOP_CONTAINER, "Container p-app-1")
        db = plan.find(Kind.STOP_CONTAINER, "Container p-db-1")
        assert app and db and plan.precedes(app.id, db.id)
        assert plan.find(Kind.STOP_CONTAINER, "Container p-migrate-1") is None
