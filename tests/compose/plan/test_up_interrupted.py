"""`up` after an `up` that was killed half-way through a recreate: one container per replica, under its own name."""

from __future__ import annotations

from pathlib import Path

from compose.plan import Kind, plan_up
from compose.plan.payloads import Rename
from tests.compose.plan.fixtures import load, state, summary

APP = """
services:
  db: {image: busybox, network_mode: none}
  web: {image: busybox, network_mode: none, depends_on: [db]}
"""
OLD = "old".ljust(64, "0")
NEW = "new".ljust(64, "0")


def test_the_new_container_takes_the_name_once_the_old_one_is_gone(tmp_path: Path) -> None:
    project = load(tmp_path, APP)
    temporary = f"{OLD[:12]}_p-web-1"
    observed = state(project, [
        summary(project, "db"),
        summary(project, "web", config_hash="stale", cid=OLD),  # the replaced one, still there
        summary(project, "web", cid=NEW, name=temporary, state="created"),  # its replacement, never renamed
    ])
    plan = plan_up(project, observed)
    remove = plan.find(Kind.REMOVE_CONTAINER, "Container p-web-1")
    rename = plan.find(Kind.RENAME_CONTAINER, "Container p-web-1")
    start = plan.find(Kind.START_CONTAINER, "Container p-web-1")
    assert remove and remove.target == OLD
    assert rename and rename.target == NEW and rename.payload == Rename("p-web-1")
    assert start and start.target == NEW
    assert plan.precedes(remove.id, rename.id) and plan.precedes(rename.id, start.id)
    assert not plan.of_kind(Kind.CREATE_CONTAINER)


def test_a_running_replacement_is_renamed_and_left_running(tmp_path: Path) -> None:
    project = load(tmp_path, APP)
    observed = state(project, [summary(project, "db"),
                               summary(project, "web", cid=NEW, name=f"{OLD[:12]}_p-web-1")])
    plan = plan_up(project, observed)
    assert [(op.kind, op.target) for op in plan] == [(Kind.RENAME_CONTAINER, NEW)]
    assert "Container p-web-1" not in plan.unchanged
