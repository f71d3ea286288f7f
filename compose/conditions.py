"""Whether a `depends_on` condition holds, from what the engine says about one container.

The decision is pure: `evaluate(condition, status)` says met, failed or
pending. A status comes from an inspect answer (`status_from_inspect`) and
is moved forward by engine events (`apply_event`), so a waiter can poll or
follow `/events`; `wait_polling` and `wait_on_events` are both, engine-free.

A health status is trusted only if a probe ended after the container's
current start: an engine may keep `healthy` from before a restart, and
compose must not start a dependent on the strength of it.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import anyio

from compose.observed import parse_time

STARTED = "service_started"
HEALTHY = "service_healthy"
COMPLETED = "service_completed_successfully"
# What `up --wait` waits for: healthy if there is a healthcheck, else running.
RUNNING_OR_HEALTHY = "running_or_healthy"
CONDITIONS = (STARTED, HEALTHY, COMPLETED, RUNNING_OR_HEALTHY)

# Polling interval of `wait_polling`: a dependent starts at most this late.
POLL_INTERVAL = 0.05


class Verdict(enum.Enum):
    PENDING = "pending"
    MET = "met"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    reason: str = ""  # why it failed, e.g. "container p-db-1 is unhealthy"
    status: str = ""  # progress word when met: Healthy, Exited, Running, Started

    @property
    def done(self) -> bool:
        return self.verdict is not Verdict.PENDING


PENDING = Outcome(Verdict.PENDING)


@dataclass(frozen=True)
class ContainerStatus:
    """The part of a container's state conditions look at (times in engine-clock seconds)."""

    name: str
    state: str  # created, running, paused, restarting, removing, exited, dead, removed
    exit_code: int | None = None
    healthcheck: bool = False  # a probe is configured (by the service or the image) and not NONE
    health: str | None = None  # starting, healthy, unhealthy
    started_at: float | None = None
    finished_at: float | None = None
    health_at: float | None = None  # end of the latest probe

    def trusted_health(self) -> str | None:
        """The health status if a probe of the current run produced it, else `starting`."""
        if not self.healthcheck:
            return None
        if self.health in ("healthy", "unhealthy") and _after(self.health_at, self.started_at):
            return self.health
        return "starting"


def _after(when: float | None, since: float | None) -> bool:
    return when is not None and since is not None and when >= since


def status_from_inspect(doc: Mapping[str, Any]) -> ContainerStatus:
    """From `GET /containers/{id}/json`."""
    state = doc.get("State") or {}
    test = ((doc.get("Config") or {}).get("Healthcheck") or {}).get("Test") or []
    health = state.get("Health") or {}
    log = health.get("Log") or []
    last = log[-1] if log and isinstance(log[-1], Mapping) else {}
    status = str(state.get("Status") or "created")
    return ContainerStatus(
        name=str(doc.get("Name") or doc.get("Id") or "").lstrip("/"),
        state=status,
        exit_code=int(state["ExitCode"]) if status in ("exited", "dead") and "ExitCode" in state else None,
        healthcheck=bool(test) and test[0] != "NONE",
        health=health.get("Status") or None,
        started_at=parse_time(state.get("StartedAt")),
        finished_at=parse_time(state.get("FinishedAt")),
        health_at=parse_time(last.get("End")) or parse_time(last.get("Start")),
    )


def _event_time(event: Mapping[str, Any]) -> float | None:
    if event.get("timeNano"):
        return int(event["timeNano"]) / 1e9
    if event.get("time"):
        return float(event["time"])
    return None


def apply_event(status: ContainerStatus, event: Mapping[str, Any]) -> ContainerStatus:
    """The status after one container event of `GET /events` (others are ignored)."""
    action = str(event.get("Action") or event.get("status") or "")
    when = _event_time(event)
    attrs = (event.get("Actor") or {}).get("Attributes") or {}
    if action in ("start", "restart"):
        return replace(status, state="running", started_at=when, exit_code=None,
                       health="starting" if status.healthcheck else None, health_at=None)
    if action == "die":
        code = attrs.get("exitCode")
        return replace(status, state="exited", finished_at=when, exit_code=int(code) if code is not None else None)
    if action.startswith("health_status"):
        health = action.partition(":")[2].strip()
        return replace(status, health=health or status.health, health_at=when)
    if action == "destroy":
        return replace(status, state="removed")
    if action == "pause":
        return replace(status, state="paused")
    if action == "unpause":
        return replace(status, state="running")
    return status


def evaluate(condition: str, status: ContainerStatus, *, not_before: float | None = None) -> Outcome:
    """Met, failed or pending; `not_before` (engine clock) discards a run that began earlier."""
    name = status.name
    if status.state == "removed":
        return Outcome(Verdict.FAILED, f"container {name} was removed")
    if not_before is not None and (status.started_at is None or status.started_at < not_before):
        return PENDING  # what we see is from before the start we are waiting on
    stopped = status.state in ("exited", "dead")
    if stopped and status.started_at is not None and not _after(status.finished_at, status.started_at):
        stopped = False  # a stale exit: the current run has not ended
    code = status.exit_code if status.exit_code is not None else -1
    if condition == STARTED:
        started = status.started_at is not None or status.state in ("running", "paused", "restarting")
        return Outcome(Verdict.MET, status="Started") if started else PENDING
    if condition == COMPLETED:
        if not stopped:
            return PENDING
        return Outcome(Verdict.MET, status="Exited") if code == 0 else Outcome(Verdict.FAILED, f"exit {code}")
    if condition not in (HEALTHY, RUNNING_OR_HEALTHY):
        raise ValueError(f"unsupported depends_on condition: {condition}")
    if stopped:
        if condition == RUNNING_OR_HEALTHY and code == 0:
            return Outcome(Verdict.MET, status="Exited")  # `up --wait`: a one-shot service that succeeded
        return Outcome(Verdict.FAILED, f"container {name} exited ({code})")
    if not status.healthcheck:
        if condition == RUNNING_OR_HEALTHY:
            return Outcome(Verdict.MET, status="Running") if status.state == "running" else PENDING
        return Outcome(Verdict.FAILED, f"container {name} has no healthcheck configured")
    health = status.trusted_health()
    if health == "unhealthy":
        return Outcome(Verdict.FAILED, f"container {name} is unhealthy")
    return Outcome(Verdict.MET, status="Healthy") if health == "healthy" else PENDING


def failure_message(condition: str, reason: str, service: str, required: bool) -> str:
    """Docker Compose's wording for a dependency that did not come up."""
    if condition == COMPLETED:
        what = f"didn't complete successfully: {reason}"
        return f"optional dependency \"{service}\" {what}" if not required else f"service \"{service}\" {what}"
    if condition == RUNNING_OR_HEALTHY:
        return f"optional dependency \"{service}\" is not running or is unhealthy: {reason}" if not required else reason
    if not required:
        return f"optional dependency \"{service}\" failed to start: {reason}"
    return f"dependency failed to start: {reason}"


async def wait_polling(
    condition: str,
    fetch: Callable[[], Awaitable[ContainerStatus]],
    *,
    not_before: float | None = None,
    interval: float = POLL_INTERVAL,
) -> Outcome:
    """Fetch (e.g. inspect) every `interval` seconds until the condition is decided."""
    while True:
        outcome = evaluate(condition, await fetch(), not_before=not_before)
        if outcome.done:
            return outcome
        await anyio.sleep(interval)


async def wait_on_events(
    condition: str,
    initial: ContainerStatus,
    events: AsyncIterable[Mapping[str, Any]],
    *,
    not_before: float | None = None,
) -> Outcome:
    """Decide from an inspect taken after subscribing, then from the container's events.

    Subscribe first and inspect second, so no event falls in between; events
    older than the inspect only repeat what it already says.
    """
    status = initial
    outcome = evaluate(condition, status, not_before=not_before)
    if outcome.done:
        return outcome
    async for event in events:
        status = apply_event(status, event)
        outcome = evaluate(condition, status, not_before=not_before)
        if outcome.done:
            break
    return outcome
