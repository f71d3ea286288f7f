"""Pull decisions: `pull_policy` (and `--pull`/`--policy`) against what the engine has, in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.errors import ComposeError, ComposeFileError
from compose.plan.pull import (
    BUILD_IT,
    FAIL,
    FORCE,
    NO_BUILD,
    PULL,
    USE,
    LocalImage,
    PullPolicy,
    must_pull,
    parse_duration,
    parse_policy,
    pull_steps,
    up_steps,
)
from tests.compose.plan.fixtures import load

NOW = 1_000_000.0
HOUR = 3600.0


@pytest.mark.parametrize(("value", "policy"), [
    (None, PullPolicy("missing")), ("always", PullPolicy("always")), ("never", PullPolicy("never")),
    ("missing", PullPolicy("missing")), ("if_not_present", PullPolicy("missing")), ("build", PullPolicy("build")),
    ("daily", PullPolicy("refresh", 86400)), ("weekly", PullPolicy("refresh", 7 * 86400)),
    ("every_1h", PullPolicy("refresh", 3600)), ("every_1w2d", PullPolicy("refresh", 9 * 86400)),
    ("every_12h30m5s", PullPolicy("refresh", 12 * 3600 + 1805)), ("refresh", PullPolicy("missing")),
])
def test_policies_as_compose_go_reads_them(value: str | None, policy: PullPolicy) -> None:
    assert parse_policy(value) == policy


def test_bad_duration() -> None:
    with pytest.raises(ComposeError, match="invalid pull policy duration"):
        parse_duration("1x")


@pytest.mark.parametrize(("policy", "local", "expected"), [
    ("always", LocalImage("i", NOW), True),
    ("never", None, False),
    ("build", None, False),
    ("missing", None, True),
    ("missing", LocalImage("i", None), False),
    ("daily", None, True),
    ("daily", LocalImage("i", None), True),  # never tagged: stale, as Docker Compose's zero LastTagTime
    ("daily", LocalImage("i", NOW - 23 * HOUR), False),
    ("daily", LocalImage("i", NOW - 25 * HOUR), True),
    ("weekly", LocalImage("i", NOW - 6 * 24 * HOUR), False),
    ("every_1h", LocalImage("i", NOW - 2 * HOUR), True),
    ("every_1h", LocalImage("i", NOW - 10), False),
])
def test_must_pull(policy: str, local: LocalImage | None, expected: bool) -> None:
    assert must_pull(parse_policy(policy), local, NOW) is expected


PROJECT = """
services:
  web: {image: "localhost:5000/web:1", pull_policy: always}
  db: {image: "localhost:5000/db:1"}
  cache: {image: "localhost:5000/db:1", pull_policy: never}
  offline: {image: "localhost:5000/offline", pull_policy: never}
  fresh: {image: "localhost:5000/fresh", pull_policy: every_1h}
  built: {build: .}
  tagged: {build: ., image: "localhost:5000/tagged"}
  old: {image: "localhost:5000/old", pull_policy: if_not_present}
"""


def test_up_steps_decide_per_image(tmp_path: Path) -> None:
    project = load(tmp_path, PROJECT)
    local = {"localhost:5000/web:1": LocalImage("w", NOW), "localhost:5000/db:1": None,
             "localhost:5000/fresh": LocalImage("f", NOW - 10), "localhost:5000/offline": LocalImage("o", NOW),
             "localhost:5000/old": LocalImage("x", None), "p-built": None}
    steps = {s.image: s for s in up_steps(project, ["web", "db", "cache", "fresh", "offline", "old"], local, NOW)}
    assert steps["localhost:5000/web:1"].action == PULL
    assert steps["localhost:5000/db:1"].action == PULL and steps["localhost:5000/db:1"].services == ("cache", "db")
    assert steps["localhost:5000/fresh"].action == USE
    assert steps["localhost:5000/offline"].action == USE
    assert steps["localhost:5000/old"].action == USE
    # --pull replaces every service's policy
    forced = {s.image: s.action for s in up_steps(project, ["fresh", "offline"], local, NOW, "always")}
    assert forced == {"localhost:5000/fresh": PULL, "localhost:5000/offline": PULL}


def test_up_steps_fail_clearly(tmp_path: Path) -> None:
    project = load(tmp_path, PROJECT)
    (never,) = up_steps(project, ["offline"], {}, NOW)
    assert never.action == FAIL and "no such image: localhost:5000/offline" in never.reason
    assert 'pull policy "never"' in never.reason
    (build,) = up_steps(project, ["web"], {}, NOW, "build")
    assert build.action == FAIL and 'pull policy "build" needs a build section' in build.reason
    (nobuild,) = up_steps(project, ["built"], {}, NOW, None, NO_BUILD)
    assert nobuild.action == FAIL and "no such image: p-built" in nobuild.reason and "--no-build" in nobuild.reason


def test_up_steps_build_as_docker_compose(tmp_path: Path) -> None:
    project = load(tmp_path, PROJECT)
    have = {"p-built": LocalImage("b", NOW), "localhost:5000/tagged": LocalImage("t", NOW)}
    # a build-only image is never pulled: built when missing, even under --pull always
    assert [s.action for s in up_steps(project, ["built"], {}, NOW, "always")] == [BUILD_IT]
    assert [s.action for s in up_steps(project, ["built"], have, NOW)] == [USE]
    assert [s.action for s in up_steps(project, ["built"], have, NOW, None, FORCE)] == [BUILD_IT]  # --build
    assert [s.action for s in up_steps(project, ["built"], have, NOW, "build")] == [BUILD_IT]  # pull_policy: build
    assert [s.action for s in up_steps(project, ["built"], have, NOW, None, NO_BUILD)] == [USE]
    # image and build: built when missing, pulled when the policy pulls
    assert [s.action for s in up_steps(project, ["tagged"], {}, NOW)] == [BUILD_IT]
    assert [s.action for s in up_steps(project, ["tagged"], have, NOW)] == [USE]
    assert [s.action for s in up_steps(project, ["tagged"], have, NOW, "always")] == [PULL]


def test_pull_command_skips_as_docker_compose(tmp_path: Path) -> None:
    project = load(tmp_path, PROJECT)
    local = {"localhost:5000/old": LocalImage("x", NOW), "localhost:5000/fresh": LocalImage("f", NOW)}
    steps = {s.services[0]: s for s in pull_steps(project, sorted(project.services), local)}
    assert steps["built"].action == USE and steps["built"].reason == "No image to be pulled"
    assert steps["offline"].action == USE  # never
    assert steps["old"].action == USE and steps["old"].reason == "Image is already present locally"
    assert steps["fresh"].action == PULL  # a refresh policy pulls on `pull`
    assert steps["tagged"].action == PULL and steps["web"].action == PULL
    assert steps["cache"].action == PULL and steps["cache"].services == ("cache", "db")
    with_policy = {s.services[0]: s.action for s in pull_steps(project, ["old", "web"], local, "missing")}
    assert with_policy == {"old": USE, "web": PULL}


def test_pull_policy_is_validated_by_the_loader(tmp_path: Path) -> None:
    with pytest.raises(ComposeFileError, match="pull_policy"):
        load(tmp_path, "services:\n  a: {image: x, pull_policy: sometimes}\n")
