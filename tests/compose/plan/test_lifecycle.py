from __future__ import annotations

from pathlib import Path

import pytest

from compose.errors import ComposeError
from compose.model import Project
from compose.plan import (
    DownOptions,
    Kind,
    Plan,
    plan_down,
    plan_kill,
    plan_pause,
    plan_restart,
    plan_rm,
    plan_start,
    plan_stop,
)
from compose.plan.payloads import Kill
from tests.compose.plan.fixtures import load, network, state, summary, volume

APP = """
services:
  db: {image: postgres, volumes: [data:/data], healthcheck: {test: [CMD, ready]}}
  cache: {image: redis}
  web:
    image: nginx
    depends_on:
      db: {condition: service_healthy, restart: true}
      cache: {condition: service_started}
  worker: {image: busybox, depends_on: [web]}
  lonely: {image: busybox}
volumes: {data: {}}
"""


@pytest.fixture
def app(tmp_path: Path) -> Project:
    return load(tmp_path, APP)


def op(plan: Plan, kind: Kind, name: str) -> str:
    found = plan.find(kind, f"Container {name}")
    assert found is not None, (kind, name, plan.describe())
    return found.id


def test_down_stops_in_reverse_order_side_by_side(app: Project) -> None:
    observed = state(app, [summary(app, s) for s in app.services], volumes=[volume("p_data")])
    plan = plan_down(app, observed)
    stop = {name: op(plan, Kind.STOP_CONTAINER, f"p-{name}-1") for name in app.services}
    assert plan[stop["web"]].depends_on == {stop["worker"]}
    assert plan[stop["db"]].depends_on == {stop["web"]} and plan[stop["cache"]].depends_on == {stop["web"]}
    assert plan[stop["worker"]].depends_on == frozenset() and plan[stop["lonely"]].depends_on == frozenset()
    removes = plan.of_kind(Kind.REMOVE_CONTAINER)
    assert all(r.depends_on == {stop[r.resource.split("-")[1]]} for r in removes)
    assert all(not r.payload.volumes for r in removes)
    net = plan.find(Kind.REMOVE_NETWORK, "Network p_default")
    assert net is not None and net.depends_on == {r.id for r in removes}
    assert plan.of_kind(Kind.REMOVE_VOLUME) == []


def test_down_volumes_removes_named_and_anonymous_volumes(app: Project) -> None:
    observed = state(app, [summary(app, "db", state="exited")],
                     volumes=[volume("p_data"), volume("other_data", project="other")])
    plan = plan_down(app, observed, DownOptions(volumes=True))
    assert [o.kind for o in plan] == [Kind.REMOVE_CONTAINER, Kind.REMOVE_NETWORK, Kind.REMOVE_VOLUME]
    assert plan.of_kind(Kind.REMOVE_CONTAINER)[0].payload.volumes is True
    assert plan.of_kind(Kind.REMOVE_VOLUME)[0].target == "p_data"


def test_down_orphans_and_one_offs_only_with_the_flag(app: Project) -> None:
    containers = [summary(app, "gone"), summary(app, "web", None, oneoff=True, state="exited", name="p-web-run-1",
                                                cid="r" * 64)]
    observed = state(app, containers)
    plan = plan_down(app, observed)
    assert plan.of_kind(Kind.STOP_CONTAINER) == [] and plan.of_kind(Kind.REMOVE_CONTAINER) == []
    # the network is still in use by the orphan: left alone
    assert plan.of_kind(Kind.REMOVE_NETWORK) == []
    plan = plan_down(app, observed, DownOptions(remove_orphans=True))
    assert {o.resource for o in plan.of_kind(Kind.REMOVE_CONTAINER)} == {"Container p-gone-1", "Container p-web-run-1"}
    assert len(plan.of_kind(Kind.REMOVE_NETWORK)) == 1


def test_down_of_some_services_takes_their_dependents(app: Project) -> None:
    observed = state(app, [summary(app, s) for s in app.services])
    plan = plan_down(app, observed, DownOptions(services=("web",)))
    assert {o.resource for o in plan.of_kind(Kind.REMOVE_CONTAINER)} == {"Container p-web-1", "Container p-worker-1"}
    assert plan.of_kind(Kind.REMOVE_NETWORK) == []  # db and the others still use it


def test_down_by_project_name_only_uses_the_labels(tmp_path: Path, app: Project) -> None:
    observed = state(app, [summary(app, s) for s in app.services], networks=[network("p_default"),
                                                                             network("q_default", "q")])
    empty = load(tmp_path, "services: {}\n")
    plan = plan_down(empty, observed)
    assert plan.precedes(op(plan, Kind.STOP_CONTAINER, "p-web-1"), op(plan, Kind.STOP_CONTAINER, "p-db-1"))
    assert [o.target for o in plan.of_kind(Kind.REMOVE_NETWORK)] == ["p_default"]


def test_down_with_nothing_warns(app: Project) -> None:
    plan = plan_down(app, state(app, networks=[]))
    assert not plan and plan.warnings == ['No resource found to remove for project "p".']


def test_stop_skips_stopped_containers_and_keeps_order(app: Project) -> None:
    containers = [summary(app, s, state="exited" if s == "web" else "running") for s in app.services]
    plan = plan_stop(app, state(app, containers))
    assert {o.resource for o in plan} == {f"Container p-{s}-1" for s in app.services if s != "web"}
    # web is not being stopped: db still stops after worker, through it
    assert plan.precedes(op(plan, Kind.STOP_CONTAINER, "p-worker-1"), op(plan, Kind.STOP_CONTAINER, "p-db-1"))
    plan = plan_stop(app, state(app, containers), ("db",), timeout=3)
    assert [(o.resource, o.payload.timeout) for o in plan] == [("Container p-db-1", 3)]


def test_start_waits_on_conditions(app: Project) -> None:
    containers = [summary(app, s, state="exited") for s in app.services]
    plan = plan_start(app, state(app, containers))
    wait = op(plan, Kind.WAIT_CONDITION, "p-db-1")
    assert plan.precedes(op(plan, Kind.START_CONTAINER, "p-db-1"), wait)
    assert plan.precedes(wait, op(plan, Kind.START_CONTAINER, "p-web-1"))
    assert plan.precedes(op(plan, Kind.START_CONTAINER, "p-web-1"), op(plan, Kind.START_CONTAINER, "p-worker-1"))


def test_start_of_one_service_waits_on_running_dependencies(app: Project) -> None:
    containers = [summary(app, s, state="exited" if s == "web" else "running") for s in app.services]
    plan = plan_start(app, state(app, containers), ("web",))
    assert [o.kind for o in plan] == [Kind.WAIT_CONDITION, Kind.START_CONTAINER]
    assert plan.of_kind(Kind.WAIT_CONDITION)[0].target == "db1".ljust(64, "0")
    with pytest.raises(ComposeError, match="web is missing dependency db"):
        plan_start(app, state(app, [summary(app, "web", state="exited")]), ("web",))
    with pytest.raises(ComposeError, match='service "web" has no container to start'):
        plan_start(app, state(app, []), ("web",))


def test_restart_takes_restart_dependents_and_waits(app: Project) -> None:
    observed = state(app, [summary(app, s) for s in app.services])
    plan = plan_restart(app, observed, ("db",))
    assert [(o.kind, o.resource) for o in plan] == [
        (Kind.RESTART_CONTAINER, "Container p-db-1"),
        (Kind.WAIT_CONDITION, "Container p-db-1"),
        (Kind.RESTART_CONTAINER, "Container p-web-1"),
    ]
    assert [o.resource for o in plan_restart(app, observed, ("db",), no_deps=True)] == ["Container p-db-1"]
    # restarting everything: worker -> web has no `restart: true`, so they do not wait on each other
    plan = plan_restart(app, observed)
    assert not plan.precedes(op(plan, Kind.RESTART_CONTAINER, "p-web-1"), op(plan, Kind.RESTART_CONTAINER,
                                                                               "p-worker-1"))


def test_rm_removes_stopped_containers(app: Project) -> None:
    containers = [summary(app, s, state="exited" if s == "web" else "running") for s in app.services]
    plan = plan_rm(app, state(app, containers))
    assert [o.resource for o in plan] == ["Container p-web-1"]
    plan = plan_rm(app, state(app, containers), ("db", "web"), stop=True, volumes=True)
    assert {(o.kind, o.resource) for o in plan} == {
        (Kind.STOP_CONTAINER, "Container p-db-1"), (Kind.REMOVE_CONTAINER, "Container p-db-1"),
        (Kind.REMOVE_CONTAINER, "Container p-web-1")}
    assert all(o.payload.volumes for o in plan.of_kind(Kind.REMOVE_CONTAINER))
    assert plan_rm(app, state(app, [summary(app, "db")])).warnings == ["No stopped containers"]


def test_kill_signals_running_containers_at_once_then_orphans_go(app: Project) -> None:
    observed = state(app, [summary(app, "web"), summary(app, "db"), summary(app, "cache", state="exited"),
                           summary(app, "gone")])
    plan = plan_kill(app, observed, ("web", "db", "cache"), signal="HUP")
    kills = plan.of_kind(Kind.KILL_CONTAINER)
    assert [k.resource for k in kills] == ["Container p-db-1", "Container p-web-1"]
    assert all(k.payload == Kill("HUP") and not k.depends_on for k in kills) and len(plan) == 2
    everything = plan_kill(app, observed, remove_orphans=True)
    stop = everything.find(Kind.STOP_CONTAINER, "Container p-gone-1")
    assert stop is not None and stop.depends_on == {k.id for k in everything.of_kind(Kind.KILL_CONTAINER)}
    assert everything.find(Kind.REMOVE_CONTAINER, "Container p-gone-1") is not None
    nothing = plan_kill(app, state(app, [summary(app, "web", state="exited")]))
    assert not nothing and nothing.warnings == ["no container to kill"]
    with pytest.raises(ComposeError, match="no such service: nope"):
        plan_kill(app, observed, ("nope",))


def test_pause_and_unpause_take_the_containers_in_the_right_state(app: Project) -> None:
    observed = state(app, [summary(app, "web"), summary(app, "db", state="paused"), summary(app, "cache")])
    paused = plan_pause(app, observed, ("web", "db"))
    assert [(o.kind, o.resource) for o in paused] == [(Kind.PAUSE_CONTAINER, "Container p-web-1")]
    resumed = plan_pause(app, observed, resume=True)
    assert [(o.kind, o.resource) for o in resumed] == [(Kind.UNPAUSE_CONTAINER, "Container p-db-1")]
    assert plan_pause(app, observed, ("lonely",)).warnings == ["no container to pause"]
