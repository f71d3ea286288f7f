"""Health checks through the real docker CLI against a private engine: starting → healthy, unhealthy
after retries, probe timeouts, start periods, --no-healthcheck over an image's HEALTHCHECK, health_status
events, the ps filter and STATUS, and the reset at a restart."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.runtime.api.containers_env import (
    busybox_tar,
    docker_env,
    env,
    eventually,
    inspect,
    out,
    private_engine,
    run,
)

pytestmark = [pytest.mark.root, pytest.mark.timeout(90)]
__all__ = ["docker_env", "env", "private_engine"]

SLEEPER = ("sh", "-c", "sleep 100")


def health_of(env: dict[str, str], name: str) -> dict[str, Any]:
    state = inspect(env, name)["State"]
    assert isinstance(state, dict)
    result: dict[str, Any] = state.get("Health") or {}
    return result


def status_is(env: dict[str, str], name: str, wanted: str) -> bool:
    return health_of(env, name).get("Status") == wanted


def test_starting_then_healthy(env: dict[str, str]) -> None:
    run(env, "run", "-d", "--name", "hc-ok", "--health-cmd", "test -f /tmp/ok", "--health-interval", "200ms",
        "--health-retries", "2", "busybox", "sh", "-c", "sleep 1; touch /tmp/ok; sleep 100")
    first = health_of(env, "hc-ok")
    assert first["Status"] == "starting" and first["FailingStreak"] == 0
    assert "(health: starting)" in out(env, "ps", "--filter", "name=hc-ok")
    eventually(lambda: status_is(env, "hc-ok", "healthy"), show=lambda: json.dumps(health_of(env, "hc-ok")))
    got = health_of(env, "hc-ok")
    assert got["FailingStreak"] == 0 and got["Log"][-1]["ExitCode"] == 0 and len(got["Log"]) <= 5
    config = inspect(env, "hc-ok")["Config"]
    assert isinstance(config, dict)
    assert config["Healthcheck"] == {"Test": ["CMD-SHELL", "test -f /tmp/ok"], "Interval": 200_000_000,
                                     "Retries": 2}
    assert "(healthy)" in out(env, "ps", "--filter", "name=hc-ok")
    assert out(env, "ps", "-q", "--filter", "health=healthy").split() == [out(env, "ps", "-q").split()[0]]
    assert out(env, "ps", "-q", "--filter", "health=unhealthy").strip() == ""
    assert "Unrecognised filter value for health: sick" in run(
        env, "ps", "--filter", "health=sick", check=False).stderr.decode()


def test_failing_check_goes_unhealthy_with_events(env: dict[str, str]) -> None:
    since = f"{time.time() - 1:.3f}"
    run(env, "run", "-d", "--name", "hc-bad", "--health-cmd", "echo nope; exit 3", "--health-interval", "100ms",
        "--health-retries", "2", "busybox", *SLEEPER)
    eventually(lambda: status_is(env, "hc-bad", "unhealthy"), show=lambda: json.dumps(health_of(env, "hc-bad")))
    got = health_of(env, "hc-bad")
    assert got["FailingStreak"] >= 2
    assert {"ExitCode": 3, "Output": "nope\n"}.items() <= got["Log"][-1].items()
    assert "(unhealthy)" in out(env, "ps", "--filter", "name=hc-bad")
    events = out(env, "events", "--since", since, "--until", f"{time.time():.3f}", "--filter", "container=hc-bad",
                 "--filter", "event=health_status", "--format", "{{json .}}")
    actions = [json.loads(line) for line in events.splitlines()]
    assert [a["Action"] for a in actions] == ["health_status: unhealthy"]
    assert actions[0]["Actor"]["Attributes"]["name"] == "hc-bad" and actions[0]["timeNano"] > 0


def test_hanging_check_is_killed_at_its_timeout(env: dict[str, str]) -> None:
    run(env, "run", "-d", "--name", "hc-slow", "--health-cmd", "sleep 10", "--health-timeout", "300ms",
        "--health-interval", "100ms", "--health-retries", "1", "busybox", *SLEEPER)
    eventually(lambda: status_is(env, "hc-slow", "unhealthy"), show=lambda: json.dumps(health_of(env, "hc-slow")))
    last = health_of(env, "hc-slow")["Log"][-1]
    assert last["ExitCode"] == -1 and last["Output"] == "Health check exceeded timeout (300ms)"
    # Each probe is killed at its timeout: they do not pile up (one may be running right now).
    eventually(lambda: len(health_of(env, "hc-slow")["Log"]) >= 4)
    probes = [p for p in out(env, "exec", "hc-slow", "ps", "-o", "args").splitlines() if p.endswith("sleep 10")]
    assert len(probes) <= 2, probes


def test_start_period_probes_at_the_start_interval(env: dict[str, str]) -> None:
    run(env, "run", "-d", "--name", "hc-sp", "--health-cmd", "echo x >> /tmp/probes; false",
        "--health-interval", "1h", "--health-start-period", "1h", "--health-start-interval", "100ms",
        "--health-retries", "1", "busybox", *SLEEPER)
    eventually(lambda: len(health_of(env, "hc-sp").get("Log") or []) >= 3)
    got = health_of(env, "hc-sp")
    assert got["Status"] == "starting" and got["FailingStreak"] == 0  # failures in the start period don't count


def test_no_healthcheck_disables_the_images(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> None:
    tar = busybox_tar(tmp_path_factory.mktemp("hc-image"))
    run(env, "import", "-c", 'CMD ["sh"]', "-c", "HEALTHCHECK --interval=100ms --retries=1 CMD exit 1", str(tar),
        "hc-image:latest")
    try:
        image = json.loads(out(env, "image", "inspect", "hc-image"))[0]
        assert image["Config"]["Healthcheck"] == {"Test": ["CMD-SHELL", "exit 1"], "Interval": 100_000_000,
                                                  "Retries": 1}
        run(env, "run", "-d", "--name", "hc-img", "hc-image", *SLEEPER)
        eventually(lambda: status_is(env, "hc-img", "unhealthy"))
        run(env, "run", "-d", "--name", "hc-over", "--health-cmd", "true", "hc-image", *SLEEPER)
        config = inspect(env, "hc-over")["Config"]
        assert isinstance(config, dict)
        assert config["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 100_000_000, "Retries": 1}
        run(env, "run", "-d", "--name", "hc-off", "--no-healthcheck", "hc-image", *SLEEPER)
        time.sleep(0.3)
        assert health_of(env, "hc-off") == {}
        assert "Up " in out(env, "ps", "--filter", "name=hc-off") and "health" not in out(
            env, "ps", "--format", "{{.Status}}", "--filter", "name=hc-off")
        assert out(env, "ps", "--format", "{{.Names}}", "--filter", "health=none").split() == ["hc-off"]
    finally:
        run(env, "rm", "-f", "hc-img", "hc-over", "hc-off", check=False)
        run(env, "rmi", "hc-image", check=False)


def test_restart_starts_over_from_starting(env: dict[str, str]) -> None:
    run(env, "run", "-d", "--name", "hc-rs", "--health-cmd", "test -f /tmp/ok", "--health-interval", "100ms",
        "--health-retries", "1", "busybox", "sh", "-c", "touch /tmp/ok; sleep 100")
    eventually(lambda: status_is(env, "hc-rs", "healthy"))
    run(env, "exec", "hc-rs", "rm", "/tmp/ok")
    eventually(lambda: status_is(env, "hc-rs", "unhealthy"))
    # After the restart /tmp/ok is back (the command makes it): starting, never the stale unhealthy.
    run(env, "restart", "-t", "0", "hc-rs")
    doc = inspect(env, "hc-rs")
    state = doc["State"]
    assert isinstance(state, dict)
    if state["Health"]["Status"] != "healthy":  # a fast probe of the new run may have answered already
        assert state["Health"]["Status"] == "starting" and state["Health"]["FailingStreak"] == 0
    else:
        assert state["Health"]["Log"][-1]["End"] > state["StartedAt"]
    eventually(lambda: status_is(env, "hc-rs", "healthy"))
    started = inspect(env, "hc-rs")["State"]["StartedAt"]  # type: ignore[index]
    assert health_of(env, "hc-rs")["Log"][-1]["End"] > started
