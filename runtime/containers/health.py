"""Health checks as Docker defines them: the configuration, its merge with the image's, and the state machine.

Pure: times are passed in (seconds on any monotonic clock), so a test
drives a `Tracker` with a fake clock. `State.Health` is kept as Docker's
JSON (`{"Status", "FailingStreak", "Log"}`) in the container's record; the
monitor that runs the probes is `health_monitor`.

Docker's rules, kept here: a probe's interval runs from the end of one probe
to the start of the next; during the start period (and until the first
success) probes run every StartInterval and failures do not count; after
Retries consecutive counted failures the container is unhealthy, one success
makes it healthy; the log keeps the last 5 results with at most 4096 bytes
of output each; a (re)start resets the status to "starting" and the failing
streak to 0 and keeps the log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runtime.errors import bad_request

SECOND_NS = 1_000_000_000
MINIMUM_NS = 1_000_000  # Docker's MinimumDuration (1ms)
DEFAULT_INTERVAL_NS = 30 * SECOND_NS
DEFAULT_TIMEOUT_NS = 30 * SECOND_NS
DEFAULT_START_PERIOD_NS = 0
DEFAULT_START_INTERVAL_NS = 5 * SECOND_NS
DEFAULT_RETRIES = 3
MAX_LOG_ENTRIES = 5
MAX_OUTPUT = 4096
DEFAULT_SHELL = ("/bin/sh", "-c")

STARTING, HEALTHY, UNHEALTHY, NONE = "starting", "healthy", "unhealthy", "none"
STATUSES = (STARTING, HEALTHY, UNHEALTHY, NONE)  # values of the `health` list filter
DURATION_FIELDS = ("Interval", "Timeout", "StartPeriod", "StartInterval")
FIELDS = ("Test", *DURATION_FIELDS, "Retries")


# -- configuration ---------------------------------------------------------------------------------


def _nanoseconds(healthcheck: Mapping[str, Any], key: str) -> int:
    value = healthcheck.get(key) or 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad_request(f"invalid {key} in Healthcheck: {value!r} (nanoseconds expected)")
    return int(value)


def validate(healthcheck: Any) -> None:
    """Docker's checks of a create request's Config.Healthcheck (400 with Docker's messages)."""
    if healthcheck is None:
        return
    if not isinstance(healthcheck, Mapping):
        raise bad_request("invalid Healthcheck: an object expected")
    test = healthcheck.get("Test")
    if test is not None and (not isinstance(test, list) or not all(isinstance(t, str) for t in test)):
        raise bad_request("invalid Test in Healthcheck: a list of strings expected")
    for key in DURATION_FIELDS:
        value = _nanoseconds(healthcheck, key)
        if value != 0 and value < MINIMUM_NS:
            raise bad_request(f"{key} in Healthcheck cannot be less than 1ms")
    retries = healthcheck.get("Retries") or 0
    if isinstance(retries, bool) or not isinstance(retries, int):
        raise bad_request(f"invalid Retries in Healthcheck: {retries!r} (a number expected)")
    if retries < 0:
        raise bad_request("Retries in Healthcheck cannot be negative")


def merge(user: Any, image: Any) -> dict[str, Any] | None:
    """The container's Healthcheck: the request's, each unset (empty, zero) field taken from the image's.

    Validates the request's part first. Zero fields are left out, as Docker's JSON omits them."""
    validate(user)
    if user is None:
        return _compact(image) if isinstance(image, Mapping) else None
    merged = dict(user)
    if isinstance(image, Mapping):
        for key in FIELDS:
            if not merged.get(key) and image.get(key):
                merged[key] = image[key]
    return _compact(merged)


def _compact(healthcheck: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in healthcheck.items() if v not in (None, 0, [])}


@dataclass(frozen=True)
class Check:
    """A probe to run: its command and timing, defaults applied (durations in nanoseconds)."""

    test: tuple[str, ...]  # ("CMD", args...) or ("CMD-SHELL", command)
    interval: int = DEFAULT_INTERVAL_NS
    timeout: int = DEFAULT_TIMEOUT_NS
    start_period: int = DEFAULT_START_PERIOD_NS
    start_interval: int = DEFAULT_START_INTERVAL_NS
    retries: int = DEFAULT_RETRIES

    @classmethod
    def of(cls, healthcheck: Any) -> Check | None:
        """The probe of a container's Config.Healthcheck; None when there is none (absent, empty, NONE).

        An unknown test type is no probe either (Docker only logs a warning)."""
        if not isinstance(healthcheck, Mapping):
            return None
        test = tuple(str(t) for t in healthcheck.get("Test") or ())
        if not test or test[0] not in ("CMD", "CMD-SHELL") or len(test) < 2:
            return None

        def duration(key: str, default: int) -> int:
            value = int(healthcheck.get(key) or 0)
            return value if value > 0 else default

        retries = int(healthcheck.get("Retries") or 0)
        return cls(test, duration("Interval", DEFAULT_INTERVAL_NS), duration("Timeout", DEFAULT_TIMEOUT_NS),
                   duration("StartPeriod", DEFAULT_START_PERIOD_NS),
                   duration("StartInterval", DEFAULT_START_INTERVAL_NS),
                   retries if retries > 0 else DEFAULT_RETRIES)

    def argv(self, shell: Sequence[str] | None = None) -> list[str]:
        """What the probe executes: CMD's arguments as they are, CMD-SHELL's through the container's shell."""
        if self.test[0] == "CMD-SHELL":
            return [*(shell or DEFAULT_SHELL), *self.test[1:]]
        return list(self.test[1:])

    def timeout_message(self, output: str) -> str:
        limit = go_duration(self.timeout)
        return f"Health check exceeded timeout ({limit}): {output}" if output else \
            f"Health check exceeded timeout ({limit})"


# -- state -----------------------------------------------------------------------------------------


def reset(health: Mapping[str, Any] | None) -> dict[str, Any]:
    """State.Health at a (re)start: starting, no failing streak, the log of earlier runs kept."""
    log = list((health or {}).get("Log") or [])
    return {"Status": STARTING, "FailingStreak": 0, "Log": log}


def status_of(health: Mapping[str, Any] | None) -> str:
    """The `health` filter's value: the status, or "none" without a health check."""
    if not health:
        return NONE
    return str(health.get("Status") or NONE)


def status_suffix(health: Mapping[str, Any] | None) -> str:
    """What `docker ps` adds after "Up …" for a running container with a health check."""
    if not health:
        return ""
    status = str(health.get("Status") or "")
    return " (health: starting)" if status == STARTING else f" ({status})"


def result(start: str, end: str, exit_code: int, output: str) -> dict[str, Any]:
    """One entry of State.Health.Log."""
    return {"Start": start, "End": end, "ExitCode": exit_code, "Output": output}


class OutputBuffer:
    """A probe's stdout and stderr together: the first MAX_OUTPUT bytes, "..." when more came."""

    def __init__(self) -> None:
        self._data = bytearray()
        self.truncated = False

    def write(self, data: bytes) -> None:
        room = MAX_OUTPUT - len(self._data)
        if room > 0:
            self._data += data[:room]
        if len(data) > max(room, 0):
            self.truncated = True

    def text(self) -> str:
        out = self._data.decode("utf-8", errors="replace")
        return out + "..." if self.truncated else out


@dataclass
class Tracker:
    """One run of a container's health checks: when to probe next, and what each result changes.

    `started` is when the container started, on the same clock as the times
    passed in; `health` is the record's State.Health, changed in place."""

    check: Check
    started: float
    health: dict[str, Any]

    @property
    def status(self) -> str:
        return str(self.health.get("Status") or STARTING)

    def in_start_period(self, at: float) -> bool:
        return at - self.started < self.check.start_period / SECOND_NS

    def delay(self, now: float) -> float:
        """Seconds to wait before the next probe (the first one too)."""
        interval = self.check.interval / SECOND_NS
        remaining = self.check.start_period / SECOND_NS - (now - self.started)
        if remaining <= 0:
            return interval
        # In the start period: the faster start interval until the first success, and a probe
        # right when the period ends rather than up to an interval later.
        wanted = self.check.start_interval / SECOND_NS if self.status == STARTING else interval
        return min(wanted, remaining)

    def observe(self, entry: Mapping[str, Any], began: float) -> str | None:
        """Record a probe's result (an entry of the log; `began` on the tracker's clock).

        Returns the new status when it changed (an event to send), else None."""
        before = self.status
        log = [*(self.health.get("Log") or []), dict(entry)]
        self.health["Log"] = log[-MAX_LOG_ENTRIES:]
        if int(entry.get("ExitCode", -1)) == 0:
            self.health["FailingStreak"] = 0
            self.health["Status"] = HEALTHY
        elif not (before == STARTING and self.in_start_period(began)):
            streak = int(self.health.get("FailingStreak") or 0) + 1
            self.health["FailingStreak"] = streak
            if streak >= self.check.retries:
                self.health["Status"] = UNHEALTHY
        after = self.status
        return after if after != before else None


# -- Go durations ----------------------------------------------------------------------------------


def go_duration(ns: int) -> str:
    """A duration as Go's time.Duration prints it: 300ms, 30s, 1m30s, 1h0m0s, 1.5µs."""
    if ns == 0:
        return "0s"
    sign, magnitude = ("-" if ns < 0 else ""), abs(ns)
    if magnitude < SECOND_NS:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000)):
            if magnitude >= size:
                return sign + _decimal(magnitude, size) + unit
        return f"{sign}{magnitude}ns"
    hours, rest = divmod(magnitude, 3600 * SECOND_NS)
    minutes, rest = divmod(rest, 60 * SECOND_NS)
    text = _decimal(rest, SECOND_NS) + "s"
    if hours or minutes:
        text = f"{minutes}m" + text
    if hours:
        text = f"{hours}h" + text
    return sign + text


def _decimal(value: int, size: int) -> str:
    whole, fraction = divmod(value, size)
    if not fraction:
        return str(whole)
    digits = len(str(size)) - 1
    return f"{whole}.{fraction:0{digits}d}".rstrip("0")
