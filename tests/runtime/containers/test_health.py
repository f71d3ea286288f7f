"""Health checks without a kernel: configuration, merge, and the state machine driven by a fake clock."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.containers import health
from runtime.containers.create_config import merge_config
from runtime.containers.health import Check, Tracker
from runtime.errors import EngineError

MS = 1_000_000
S = 1_000_000_000


def entry(code: int, output: str = "") -> dict[str, Any]:
    return health.result("2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z", code, output)


def tracker(started: float = 100.0, **healthcheck: Any) -> Tracker:
    check = Check.of({"Test": ["CMD-SHELL", "true"], **healthcheck})
    assert check is not None
    return Tracker(check, started, health.reset(None))


# -- configuration -----------------------------------------------------------------------------


def test_check_defaults_and_argv() -> None:
    check = Check.of({"Test": ["CMD-SHELL", "test -f /tmp/ok"]})
    assert check == Check(("CMD-SHELL", "test -f /tmp/ok"), 30 * S, 30 * S, 0, 5 * S, 3)
    assert check.argv() == ["/bin/sh", "-c", "test -f /tmp/ok"]
    assert check.argv(["/bin/bash", "-ec"]) == ["/bin/bash", "-ec", "test -f /tmp/ok"]
    exec_form = Check.of({"Test": ["CMD", "cat", "/etc/passwd"], "Interval": 200 * MS, "Retries": 2})
    assert exec_form is not None and exec_form.argv() == ["cat", "/etc/passwd"]
    assert exec_form.interval == 200 * MS and exec_form.retries == 2 and exec_form.timeout == 30 * S


@pytest.mark.parametrize("healthcheck", [None, {}, {"Test": []}, {"Test": ["NONE"]}, {"Test": ["HTTP", "x"]},
                                         {"Test": ["CMD"]}, "CMD true"])
def test_no_probe(healthcheck: Any) -> None:
    assert Check.of(healthcheck) is None


def test_merge_field_by_field_with_the_image() -> None:
    image = {"Test": ["CMD", "true"], "Interval": 5 * S, "Timeout": 2 * S, "Retries": 4}
    assert health.merge(None, image) == image
    assert health.merge(None, None) is None
    assert health.merge({"Interval": 1 * S}, image) == {**image, "Interval": 1 * S}
    assert health.merge({"Test": ["CMD-SHELL", "x"], "Retries": 0}, image) == {
        "Test": ["CMD-SHELL", "x"], "Interval": 5 * S, "Timeout": 2 * S, "Retries": 4}
    disabled = health.merge({"Test": ["NONE"]}, image)
    assert disabled is not None and disabled["Test"] == ["NONE"] and Check.of(disabled) is None
    assert health.merge({"Test": ["CMD", "a"], "StartPeriod": 0}, None) == {"Test": ["CMD", "a"]}


def test_merge_config_uses_the_healthcheck_merge() -> None:
    image = {"Cmd": ["sh"], "Healthcheck": {"Test": ["CMD", "true"], "Interval": 5 * S}}
    assert merge_config({"Healthcheck": {"Retries": 2}}, image)["Healthcheck"] == {
        "Test": ["CMD", "true"], "Interval": 5 * S, "Retries": 2}
    assert merge_config({}, image)["Healthcheck"] == image["Healthcheck"]
    assert "Healthcheck" not in merge_config({}, {"Cmd": ["sh"]})


@pytest.mark.parametrize(("healthcheck", "message"), [
    ({"Interval": 1000}, "Interval in Healthcheck cannot be less than 1ms"),
    ({"Timeout": -5}, "Timeout in Healthcheck cannot be less than 1ms"),
    ({"StartPeriod": 10}, "StartPeriod in Healthcheck cannot be less than 1ms"),
    ({"StartInterval": 999_999}, "StartInterval in Healthcheck cannot be less than 1ms"),
    ({"Retries": -1}, "Retries in Healthcheck cannot be negative"),
    ({"Interval": "5s"}, "invalid Interval in Healthcheck"),
    ({"Test": "true"}, "invalid Test in Healthcheck"),
])  # fmt: skip
def test_docker_validation(healthcheck: dict[str, Any], message: str) -> None:
    with pytest.raises(EngineError) as caught:
        health.merge(healthcheck, None)
    assert caught.value.status == 400 and message in caught.value.message


@pytest.mark.parametrize(("ns", "text"), [
    (0, "0s"), (300 * MS, "300ms"), (30 * S, "30s"), (90 * S, "1m30s"), (3600 * S, "1h0m0s"),
    (1500 * MS, "1.5s"), (1500, "1.5µs"), (12, "12ns"), (1_250_000, "1.25ms"), (-2 * S, "-2s"),
])  # fmt: skip
def test_go_duration(ns: int, text: str) -> None:
    assert health.go_duration(ns) == text


def test_timeout_message() -> None:
    check = Check.of({"Test": ["CMD", "sleep", "10"], "Timeout": 300 * MS})
    assert check is not None
    assert check.timeout_message("") == "Health check exceeded timeout (300ms)"
    assert check.timeout_message("partial") == "Health check exceeded timeout (300ms): partial"


def test_output_buffer_caps_at_4096_bytes() -> None:
    buffer = health.OutputBuffer()
    buffer.write(b"a" * 4000)
    buffer.write(b"b" * 200)
    buffer.write(b"c")
    assert buffer.text() == "a" * 4000 + "b" * 96 + "..."
    small = health.OutputBuffer()
    small.write("héllo\n".encode())
    small.write(b"\xff")
    assert small.text() == "héllo\n\ufffd"


# -- state ---------------------------------------------------------------------------------------


def test_reset_keeps_the_log_only() -> None:
    assert health.reset(None) == {"Status": "starting", "FailingStreak": 0, "Log": []}
    old = {"Status": "unhealthy", "FailingStreak": 7, "Log": [entry(1)]}
    assert health.reset(old) == {"Status": "starting", "FailingStreak": 0, "Log": [entry(1)]}


def test_status_views() -> None:
    assert health.status_of(None) == "none"
    assert health.status_of({"Status": "healthy"}) == "healthy"
    assert health.status_suffix(None) == ""
    assert health.status_suffix({"Status": "starting"}) == " (health: starting)"
    assert health.status_suffix({"Status": "unhealthy"}) == " (unhealthy)"


def test_starting_to_healthy_on_first_success() -> None:
    t = tracker(Interval=200 * MS)
    assert t.delay(100.0) == pytest.approx(0.2)
    assert t.observe(entry(1), 100.2) is None  # no start period: counts, but one is not enough
    assert t.health["FailingStreak"] == 1 and t.status == "starting"
    assert t.observe(entry(0, "ok"), 100.4) == "healthy"
    assert t.health["FailingStreak"] == 0 and t.health["Log"][-1]["Output"] == "ok"
    assert t.observe(entry(0), 100.6) is None


def test_unhealthy_after_retries_consecutive_failures() -> None:
    t = tracker(Retries=2)
    assert t.observe(entry(1), 101) is None
    assert t.observe(entry(1), 102) == "unhealthy"
    assert t.observe(entry(1), 103) is None and t.health["FailingStreak"] == 3
    assert t.observe(entry(0), 104) == "healthy"
    assert t.observe(entry(-1), 105) is None and t.status == "healthy"  # one failure of two
    assert t.observe(entry(2), 106) == "unhealthy"


def test_start_period_failures_do_not_count() -> None:
    t = tracker(StartPeriod=10 * S, StartInterval=1 * S, Interval=30 * S, Retries=1)
    assert t.delay(100.0) == 1.0  # the start interval while starting
    for at in (101.0, 102.0, 109.5):
        assert t.observe(entry(1), at) is None
    assert t.health["FailingStreak"] == 0 and t.status == "starting"
    assert t.delay(109.5) == pytest.approx(0.5)  # a probe right when the period ends
    assert t.observe(entry(1), 110.0) == "unhealthy"  # the period is over: it counts
    assert t.delay(110.0) == 30.0


def test_start_period_ends_with_the_first_success() -> None:
    t = tracker(StartPeriod=60 * S, StartInterval=1 * S, Interval=20 * S, Retries=1)
    assert t.observe(entry(0), 101.0) == "healthy"
    assert t.delay(101.0) == 20.0  # back to the interval
    assert t.observe(entry(1), 121.0) == "unhealthy"  # healthy once: failures count at once
    assert t.delay(160.0) == 20.0


def test_start_interval_capped_by_the_rest_of_the_period() -> None:
    t = tracker(StartPeriod=2 * S)  # default start interval 5s
    assert t.delay(100.0) == 2.0
    assert t.delay(103.0) == 30.0


def test_log_keeps_the_last_five() -> None:
    t = tracker()
    for code in range(7):
        t.observe(entry(code, str(code)), 200.0 + code)
    assert [e["Output"] for e in t.health["Log"]] == ["2", "3", "4", "5", "6"]


def test_restart_story_with_a_fake_clock() -> None:
    """unhealthy in a first run; a restart says starting again until a probe of the new run answers."""
    record_health: dict[str, Any] | None = None
    first = tracker(Retries=1)
    first.observe(entry(1), 101)
    record_health = first.health
    assert record_health["Status"] == "unhealthy"
    check = first.check
    second = Tracker(check, 500.0, health.reset(record_health))
    assert second.status == "starting" and second.health["FailingStreak"] == 0
    assert len(second.health["Log"]) == 1
    assert second.observe(entry(0), 530.0) == "healthy"
