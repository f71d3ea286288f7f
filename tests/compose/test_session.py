"""The session's pure parts: which replica a command means, and which services it selects."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.errors import ComposeError
from compose.session import replica, selected_services
from tests.compose.plan.fixtures import load, state, summary

APP = """
services:
  db: {image: postgres}
  web: {image: nginx, depends_on: [db], scale: 2}
  job: {image: busybox}
"""


def test_replica_is_the_running_one_of_that_number(tmp_path: Path) -> None:
    app = load(tmp_path, APP)
    observed = state(app, [summary(app, "web", 1), summary(app, "web", 2, state="exited"),
                           summary(app, "job", state="exited")])
    assert replica(observed, "web", 1).name == "p-web-1"
    with pytest.raises(ComposeError, match='service "web" is not running container #2'):
        replica(observed, "web", 2)
    with pytest.raises(ComposeError, match=r'service "job" is not running$'):
        replica(observed, "job", 1)
    with pytest.raises(ComposeError, match=r'service "db" is not running$'):
        replica(observed, "db", 1)


def test_selected_services_follow_dependencies_unless_no_deps(tmp_path: Path) -> None:
    app = load(tmp_path, APP)
    assert selected_services(app, ["web"], False) == {"web", "db"}
    assert selected_services(app, ["web"], True) == {"web"}
    assert selected_services(app, [], False) == {"web", "db", "job"}
