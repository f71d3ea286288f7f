from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from compose.conditions import (
    COMPLETED,
    HEALTHY,
    RUNNING_OR_HEALTHY,
    STARTED,
    ContainerStatus,
    Verdict,
    apply_event,
    evaluate,
    failure_message,
    status_from_inspect,
    wait_on_events,
    wait_polling,
)

RUNNING = ContainerStatus("p-db-1", "running", healthcheck=True, health="starting", started_at=100.0)


def healthy(at: float) -> ContainerStatus:
    return ContainerStatus("p-db-1", "running", healthcheck=True, health="healthy", started_at=100.0, health_at=at)


def test_healthy() -> None:
    assert evaluate(HEALTHY, RUNNING).verdict is Verdict.PENDING
    met = evaluate(HEALTHY, healthy(101.0))
    assert met.verdict is Verdict.MET and met.status == "Healthy"
    sick = ContainerStatus("p-db-1", "running", healthcheck=True, health="unhealthy", started_at=100.0,
                           health_at=105.0)
    assert evaluate(HEALTHY, sick).reason == "container p-db-1 is unhealthy"
    exited = ContainerStatus("p-db-1", "exited", exit_code=137, healthcheck=True, health="healthy",
                             started_at=100.0, finished_at=103.0, health_at=101.0)
    assert evaluate(HEALTHY, exited).reason == "container p-db-1 exited (137)"
    bare = ContainerStatus("p-db-1", "running", started_at=100.0)
    assert evaluate(HEALTHY, bare).reason == "container p-db-1 has no healthcheck configured"


def test_health_from_before_the_current_start_is_not_trusted() -> None:
    assert evaluate(HEALTHY, healthy(99.0)).verdict is Verdict.PENDING
    assert evaluate(HEALTHY, healthy(100.0)).verdict is Verdict.MET
    no_time = ContainerStatus("p-db-1", "running", healthcheck=True, health="unhealthy", started_at=100.0)
    assert evaluate(HEALTHY, no_time).verdict is Verdict.PENDING
    # a status older than the start we are waiting on is no answer at all
    assert evaluate(HEALTHY, healthy(101.0), not_before=150.0).verdict is Verdict.PENDING


def test_completed_successfully() -> None:
    done = ContainerStatus("p-job-1", "exited", exit_code=0, started_at=1.0, finished_at=2.0)
    assert evaluate(COMPLETED, done).status == "Exited"
    failed = evaluate(COMPLETED, ContainerStatus("p-job-1", "exited", exit_code=3, started_at=1.0, finished_at=2.0))
    assert (failed.verdict, failed.reason) == (Verdict.FAILED, "exit 3")
    assert evaluate(COMPLETED, ContainerStatus("p-job-1", "running", started_at=1.0)).verdict is Verdict.PENDING
    # an exit that ended before the current start belongs to the previous run
    stale = ContainerStatus("p-job-1", "exited", exit_code=1, started_at=5.0, finished_at=2.0)
    assert evaluate(COMPLETED, stale).verdict is Verdict.PENDING


def test_started_and_running_or_healthy() -> None:
    assert evaluate(STARTED, ContainerStatus("c", "created")).verdict is Verdict.PENDING
    assert evaluate(STARTED, ContainerStatus("c", "running", started_at=1.0)).verdict is Verdict.MET
    assert evaluate(RUNNING_OR_HEALTHY, ContainerStatus("c", "running", started_at=1.0)).status == "Running"
    assert evaluate(RUNNING_OR_HEALTHY, RUNNING).verdict is Verdict.PENDING
    assert evaluate(RUNNING_OR_HEALTHY, healthy(101.0)).verdict is Verdict.MET
    assert evaluate(HEALTHY, ContainerStatus("c", "removed")).reason == "container c was removed"
    with pytest.raises(ValueError, match="unsupported"):
        evaluate("service_bored", RUNNING)


def test_failure_messages_are_compose_wording() -> None:
    assert failure_message(HEALTHY, "container x is unhealthy", "db", True) == \
        "dependency failed to start: container x is unhealthy"
    assert failure_message(HEALTHY, "container x is unhealthy", "db", False) == \
        'optional dependency "db" failed to start: container x is unhealthy'
    assert failure_message(COMPLETED, "exit 1", "db", True) == "service \"db\" didn't complete successfully: exit 1"
    assert failure_message(COMPLETED, "exit 1", "db", False) == \
        "optional dependency \"db\" didn't complete successfully: exit 1"


INSPECT: Mapping[str, Any] = {
    "Id": "abc",
    "Name": "/p-db-1",
    "Config": {"Healthcheck": {"Test": ["CMD", "ready"]}},
    "State": {
        "Status": "running", "ExitCode": 0,
        "StartedAt": "2024-05-01T10:00:00.123456789Z", "FinishedAt": "0001-01-01T00:00:00Z",
        "Health": {"Status": "healthy", "Log": [{"Start": "2024-05-01T10:00:01Z", "End": "2024-05-01T10:00:01.5Z"}]},
    },
}


def test_status_from_inspect() -> None:
    status = status_from_inspect(INSPECT)
    assert (status.name, status.state, status.exit_code, status.healthcheck, status.health) == (
        "p-db-1", "running", None, True, "healthy")
    assert status.finished_at is None and status.started_at is not None and status.health_at is not None
    assert status.health_at - status.started_at == pytest.approx(1.376543211, abs=1e-6)
    assert evaluate(HEALTHY, status).verdict is Verdict.MET
    none = status_from_inspect({**INSPECT, "Config": {"Healthcheck": {"Test": ["NONE"]}}})
    assert none.healthcheck is False


def test_events_move_the_status() -> None:
    status = ContainerStatus("p-db-1", "exited", exit_code=1, healthcheck=True, health="healthy", health_at=5.0,
                             started_at=1.0, finished_at=6.0)
    status = apply_event(status, {"Action": "start", "timeNano": 10_000_000_000})
    assert (status.state, status.health, status.started_at, status.exit_code) == ("running", "starting", 10.0, None)
    status = apply_event(status, {"Action": "health_status: healthy", "time": 12})
    assert (status.health, status.health_at) == ("healthy", 12.0)
    status = apply_event(status, {"Action": "die", "time": 13, "Actor": {"Attributes": {"exitCode": "137"}}})
    assert (status.state, status.exit_code, status.finished_at) == ("exited", 137, 13.0)
    assert apply_event(status, {"Action": "destroy"}).state == "removed"
    assert apply_event(status, {"Action": "exec_create: ls"}) == status


@pytest.mark.anyio
async def test_wait_polling_until_decided() -> None:
    answers = [RUNNING, RUNNING, healthy(101.0)]
    seen: list[ContainerStatus] = []

    async def fetch() -> ContainerStatus:
        seen.append(answers.pop(0))
        return seen[-1]

    outcome = await wait_polling(HEALTHY, fetch, interval=0.001)
    assert outcome.verdict is Verdict.MET and len(seen) == 3


@pytest.mark.anyio
async def test_wait_on_events() -> None:
    async def events() -> AsyncIterator[Mapping[str, Any]]:
        yield {"Action": "health_status: healthy", "time": 50}  # from before the restart: ignored by trust
        yield {"Action": "start", "time": 100}
        yield {"Action": "health_status: unhealthy", "time": 101}
        raise AssertionError("read past the decision")

    stale = ContainerStatus("p-db-1", "running", healthcheck=True, health="starting", started_at=40.0)
    outcome = await wait_on_events(HEALTHY, stale, events())
    assert outcome.verdict is Verdict.MET  # healthy at 50 after a start at 40 is trusted
    outcome = await wait_on_events(HEALTHY, stale, events(), not_before=100.0)
    assert (outcome.verdict, outcome.reason) == (Verdict.FAILED, "container p-db-1 is unhealthy")
