from __future__ import annotations

import logging
from pathlib import Path

import pytest

from compose.conditions import ContainerStatus
from compose.plan import DownOptions, Kind, Plan, Ref, Resource, UpOptions, plan_down, plan_up
from compose.plan.payloads import ContainerCreate, Kill, Remove, Rename, Wait
from compose.scheduler import ERROR, WARNING, PlanError, ProgressEvent, run_plan
from tests.compose.fake_executor import FakeExecutor, exits_with, healthy_after
from tests.compose.plan.fixtures import load, state, summary

C = Resource.container
pytestmark = pytest.mark.anyio

APP = """
services:
  db: {image: postgres, healthcheck: {test: [CMD, ready]}}
  cache: {image: redis}
  queue: {image: rabbit}
  web:
    image: nginx
    depends_on:
      db: {condition: service_healthy}
      cache: {condition: service_started}
"""


def fan_out(width: int) -> Plan:
    """`width` independent starts, then one that needs them all."""
    plan = Plan()
    firsts = [plan.add(Kind.START_CONTAINER, f"c{i}", C(f"c{i}")) for i in range(width)]
    plan.add(Kind.START_CONTAINER, "last", C("last"), after=firsts)
    return plan


async def test_dependencies_finish_before_dependents_start() -> None:
    engine = FakeExecutor()
    await run_plan(fan_out(3), engine)
    last = engine.find("start_container", "last")
    assert all(engine.find("start_container", f"c{i}").end <= last.start for i in range(3))


async def test_independent_operations_overlap() -> None:
    engine = FakeExecutor(delay=0.05)
    await run_plan(fan_out(4), engine)
    firsts = [engine.find("start_container", f"c{i}") for i in range(4)]
    assert all(engine.overlap(a, b) for a in firsts for b in firsts if a is not b)
    assert engine.max_active == 4


@pytest.mark.parametrize("limit", [1, 2])
async def test_parallel_limit_is_honoured(limit: int) -> None:
    engine = FakeExecutor(delay=0.01)
    await run_plan(fan_out(6), engine, parallel=limit)
    assert engine.max_active == limit
    intervals = sorted((c.start, c.end) for c in engine.calls)
    for i, (start, _) in enumerate(intervals):
        running = sum(1 for s, e in intervals[:i] if e > start)
        assert running < limit


async def test_waits_do_not_take_a_parallel_slot() -> None:
    plan = Plan()
    plan.add(Kind.WAIT_CONDITION, "db", C("db"), payload=Wait("service_healthy", service="db"))
    plan.add(Kind.START_CONTAINER, "other", C("other"))
    engine = FakeExecutor(statuses={"db": healthy_after("db", 10)})
    await run_plan(plan, engine, parallel=1)
    assert engine.overlap(engine.find("wait_condition", "db"), engine.find("start_container", "other"))


async def test_first_failure_stops_the_rest_and_is_reported_once() -> None:
    plan = Plan()
    bad = plan.add(Kind.START_CONTAINER, "bad", C("p-bad-1"))
    slow = plan.add(Kind.START_CONTAINER, "slow", C("p-slow-1"))
    plan.add(Kind.START_CONTAINER, "after-bad", C("after"), after=[bad])
    plan.add(Kind.START_CONTAINER, "after-slow", C("after-slow"), after=[slow])
    engine = FakeExecutor(delays={"bad": 0.01, "slow": 0.1},
                        failures={("start_container", "bad"): RuntimeError("port is already allocated")})
    events: list[ProgressEvent] = []
    with pytest.raises(PlanError) as info:
        await run_plan(plan, engine, on_event=events.append)
    assert str(info.value) == "Container p-bad-1: start failed: port is already allocated"
    assert info.value.operation is not None and info.value.operation.id == bad
    # the slow one already ran to its end; nothing after either of them was started
    assert engine.find("start_container", "slow").end > engine.find("start_container", "bad").end
    assert {c.target for c in engine.calls} == {"bad", "slow"}
    errors = [e for e in events if e.state == ERROR]
    assert [(e.resource, e.status, e.detail) for e in errors] == [
        ("Container p-bad-1", "Error", "port is already allocated")]
    assert errors[0].elapsed is not None and errors[0].elapsed >= 0.01


async def test_failure_cancels_pending_waits() -> None:
    plan = Plan()
    plan.add(Kind.WAIT_CONDITION, "db", C("db"), payload=Wait("service_healthy", service="db"))
    plan.add(Kind.START_CONTAINER, "bad", C("bad"))
    engine = FakeExecutor(statuses={"db": healthy_after("db", 10_000)},
                        failures={("start_container", "bad"): RuntimeError("boom")})
    with pytest.raises(PlanError, match="boom"):
        await run_plan(plan, engine)
    assert engine.find("wait_condition", "db").end > 0


async def test_created_ids_fill_the_refs() -> None:
    plan = Plan()
    create = plan.add(Kind.CREATE_CONTAINER, "p-a-1", C("p-a-1"), payload=ContainerCreate("p-a-1", {}))
    plan.add(Kind.CREATE_CONTAINER, "p-b-1", C("p-b-1"),
             payload=ContainerCreate("p-b-1", {"HostConfig": {"NetworkMode": Ref(create, "container:")}}))
    plan.add(Kind.START_CONTAINER, Ref(create), C("p-a-1"))
    engine = FakeExecutor()
    results = await run_plan(plan, engine)
    assert results == {create: "id-p-a-1", "create_container:p-b-1": "id-p-b-1"}
    assert engine.find("create_container", "p-b-1").args["body"]["HostConfig"]["NetworkMode"] == "container:id-p-a-1"
    assert engine.find("start_container", "id-p-a-1")


async def test_each_payload_reaches_its_call() -> None:
    plan = Plan()
    kill = plan.add(Kind.KILL_CONTAINER, "c1", C("p-a-1"), payload=Kill("HUP"))
    plan.add(Kind.REMOVE_CONTAINER, "c1", C("p-a-1"), after=[kill], payload=Remove(volumes=True))
    plan.add(Kind.RENAME_CONTAINER, "c2", C("p-b-1"), payload=Rename("p-b-2"))
    events: list[ProgressEvent] = []
    engine = FakeExecutor()
    await run_plan(plan, engine, on_event=events.append)
    assert engine.find("kill_container", "c1").args == {"signal": "HUP"}
    assert engine.find("remove_container", "c1").args == {"volumes": True}
    assert engine.find("rename_container", "c2").args == {"name": "p-b-2"}
    assert [e.status for e in events if e.resource == "Container p-a-1"][:2] == ["Killing", "Killed"]


async def test_up_runs_in_order_and_waits_for_health(tmp_path: Path) -> None:
    project = load(tmp_path, APP)
    engine = FakeExecutor(statuses={"id-p-db-1": healthy_after("p-db-1", 3)})
    events: list[ProgressEvent] = []
    await run_plan(plan_up(project, state(project, networks=[])), engine, on_event=events.append)
    wait = engine.find("wait_condition", "id-p-db-1")
    web = engine.find("start_container", "id-p-web-1")
    assert engine.find("start_container", "id-p-db-1").end <= wait.start and wait.end <= web.start
    assert engine.find("start_container", "id-p-cache-1").end <= web.start
    creates = [engine.find("create_container", f"p-{s}-1") for s in ("db", "cache", "queue")]
    assert all(engine.overlap(a, b) for a in creates for b in creates if a is not b)
    # web waits on db's health: it is created while that wait goes on
    assert engine.find("start_container", "id-p-db-1").end <= engine.find("create_container", "p-web-1").start
    db_words = [(e.status, e.state) for e in events if e.resource == "Container p-db-1"]
    assert db_words == [("Creating", "working"), ("Created", "done"), ("Starting", "working"),
                        ("Started", "done"), ("Waiting", "working"), ("Healthy", "done")]
    assert [e.status for e in events if e.resource == "Network p_default"] == ["Creating", "Created"]


async def test_unhealthy_dependency_fails_at_once(tmp_path: Path) -> None:
    project = load(tmp_path, APP)
    engine = FakeExecutor(statuses={"id-p-db-1": healthy_after("p-db-1", 2, final="unhealthy")})
    with pytest.raises(PlanError, match=r"^dependency failed to start: container p-db-1 is unhealthy$"):
        await run_plan(plan_up(project, state(project)), engine)
    assert ("start_container", "id-p-web-1") not in engine.methods()


async def test_dependency_exiting_while_awaited_healthy_fails(tmp_path: Path) -> None:
    project = load(tmp_path, APP)
    engine = FakeExecutor(statuses={"id-p-db-1": list(exits_with("p-db-1", 3, polls=2, healthcheck=True))})
    with pytest.raises(PlanError, match=r"^dependency failed to start: container p-db-1 exited \(3\)$"):
        await run_plan(plan_up(project, state(project)), engine)
    engine = FakeExecutor(statuses={"id-p-db-1": list(exits_with("p-db-1", 0))})
    with pytest.raises(PlanError, match="container p-db-1 has no healthcheck configured"):
        await run_plan(plan_up(project, state(project)), engine)


ONE_SHOT = """
services:
  migrate: {image: tool}
  app:
    image: app
    depends_on: {migrate: {condition: service_completed_successfully, required: %s}}
"""


async def test_completed_successfully(tmp_path: Path) -> None:
    project = load(tmp_path, ONE_SHOT % "true")
    engine = FakeExecutor(statuses={"id-p-migrate-1": list(exits_with("p-migrate-1", 0, polls=2))})
    events: list[ProgressEvent] = []
    await run_plan(plan_up(project, state(project)), engine, on_event=events.append)
    assert engine.find("wait_condition", "id-p-migrate-1").end <= engine.find("start_container", "id-p-app-1").start
    assert [(e.resource, e.state) for e in events if e.status == "Exited"] == [("Container p-migrate-1", "done")]
    engine = FakeExecutor(statuses={"id-p-migrate-1": list(exits_with("p-migrate-1", 2))})
    with pytest.raises(PlanError, match=r"^service \"migrate\" didn't complete successfully: exit 2$"):
        await run_plan(plan_up(project, state(project)), engine)


async def test_optional_dependency_failure_warns_and_goes_on(tmp_path: Path, caplog: pytest.LogCaptureFixture
                                                            ) -> None:
    project = load(tmp_path, ONE_SHOT % "false")
    engine = FakeExecutor(statuses={"id-p-migrate-1": list(exits_with("p-migrate-1", 2))})
    events: list[ProgressEvent] = []
    with caplog.at_level(logging.WARNING, logger="pycompose"):
        await run_plan(plan_up(project, state(project)), engine, on_event=events.append)
    message = 'optional dependency "migrate" didn\'t complete successfully: exit 2'
    assert ("start_container", "id-p-app-1") in engine.methods()
    assert next(e for e in events if e.state == WARNING).detail == message
    assert message in caplog.text


async def test_health_from_before_the_restart_is_not_trusted() -> None:
    stale = ContainerStatus("db", "running", healthcheck=True, health="healthy", started_at=20.0, health_at=15.0)
    fresh = ContainerStatus("db", "running", healthcheck=True, health="healthy", started_at=20.0, health_at=21.0)
    plan = Plan()
    wait = plan.add(Kind.WAIT_CONDITION, "db", C("db"), payload=Wait("service_healthy"))
    plan.add(Kind.START_CONTAINER, "web", C("web"), after=[wait])
    engine = FakeExecutor(statuses={"db": [stale] * 5 + [fresh]})
    await run_plan(plan, engine)
    assert engine.find("wait_condition", "db").end - engine.find("wait_condition", "db").start >= 0.02


async def test_wait_timeout() -> None:
    plan = Plan()
    plan.add(Kind.WAIT_CONDITION, "db", C("db"),
             payload=Wait("service_healthy", timeout=0.05, timeout_message="too slow"))
    with pytest.raises(PlanError, match=r"^too slow$"):
        await run_plan(plan, FakeExecutor(statuses={"db": healthy_after("db", 10_000)}))


async def test_recreate_reads_as_one_step(tmp_path: Path) -> None:
    project = load(tmp_path, APP)
    observed = state(project, [summary(project, s, config_hash="old" if s == "queue" else None)
                               for s in project.services])
    events: list[ProgressEvent] = []
    engine = FakeExecutor()
    await run_plan(plan_up(project, observed), engine, on_event=events.append)
    assert [(e.status, e.state) for e in events] == [("Recreate", "working"), ("Recreated", "done"),
                                                     ("Starting", "working"), ("Started", "done")]
    recreated = events[1].elapsed
    assert recreated is not None and recreated >= 4 * engine.delay * 0.9  # create, stop, remove, rename
    assert [m for m, _ in engine.methods()] == ["create_container", "stop_container", "remove_container",
                                                "rename_container", "start_container"]


async def test_down_runs_in_reverse_order_with_parallelism(tmp_path: Path) -> None:
    project = load(tmp_path, APP)
    observed = state(project, [summary(project, s) for s in project.services])
    engine = FakeExecutor()
    await run_plan(plan_down(project, observed, DownOptions()), engine)
    stop = {s: engine.find("stop_container", f"{s}1".ljust(64, "0")) for s in project.services}
    assert stop["web"].end <= stop["db"].start and stop["web"].end <= stop["cache"].start
    assert engine.overlap(stop["db"], stop["cache"]) and engine.overlap(stop["web"], stop["queue"])
    removes = [c for c in engine.calls if c.method == "remove_container"]
    network = engine.find("remove_network", "p_default")
    assert all(r.end <= network.start for r in removes)


async def test_empty_plan() -> None:
    assert await run_plan(Plan(), FakeExecutor()) == {}


async def test_upoptions_no_start_runs_only_creates(tmp_path: Path) -> None:
    project = load(tmp_path, APP)
    engine = FakeExecutor()
    await run_plan(plan_up(project, state(project), UpOptions(no_start=True)), engine, parallel=2)
    assert {m for m, _ in engine.methods()} == {"create_container"} and engine.max_active == 2
