"""Stacks left by a crashed test session, found by label and taken down by the next session of the suite.

Every container a fixture of ours brings up carries two labels: the suite
(a digest of the pytest rootdir) and the session (pid and process start
time of the pytest process). A later session of the same suite lists the
suite's containers; a project none of whose containers belongs to a live
session (one that is not this one and whose process is gone, e.g. after
`kill -9`) is taken down with its networks and volumes, by project label.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from compose import labels as L

if TYPE_CHECKING:
    from compose.api import Project

SUITE = "io.pycompose.pytest.suite"
SESSION = "io.pycompose.pytest.session"


def suite_id(rootdir: str) -> str:
    return hashlib.sha256(os.path.realpath(rootdir).encode()).hexdigest()[:16]


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), None when gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def session_id(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{pid}-{_start_time(pid) or 0}"


def alive(session: str) -> bool:
    """Whether the session's pytest process still runs (the same process: pid and start time match)."""
    pid, _, started = session.partition("-")
    return pid.isdigit() and _start_time(int(pid)) == started


def session_labels(rootdir: str) -> dict[str, str]:
    return {SUITE: suite_id(rootdir), SESSION: session_id()}


def leaked_projects(containers: Sequence[Mapping[str, Any]], suite: str, me: str) -> list[str]:
    """Projects of the suite whose every container belongs to a session that is over."""
    by_project: dict[str, set[str]] = {}
    for container in containers:
        labels = container.get("Labels") or {}
        if labels.get(SUITE) != suite or not labels.get(L.PROJECT):
            continue
        by_project.setdefault(labels[L.PROJECT], set()).add(str(labels.get(SESSION) or ""))
    return sorted(project for project, sessions in by_project.items()
                  if not any(s == me or alive(s) for s in sessions))


def reap(rootdir: str, host: str | None) -> list[str]:
    """Take down the suite's leaked stacks; the names of those taken down."""
    from compose.api import Project, list_containers

    suite = suite_id(rootdir)
    containers = list_containers(host, {"label": [f"{SUITE}={suite}"]})
    gone = leaked_projects(containers, suite, session_id())
    for name in gone:
        project: Project = Project.by_name(name, host)
        project.down(volumes=True, remove_orphans=True)
    return gone


def engine_host(config: pytest.Config) -> str | None:
    """The engine of the fixtures: --compose-host, $DOCKER_HOST, or the default one (None)."""
    return config.getoption("--compose-host", default=None) or os.environ.get("DOCKER_HOST") or None


_REAPED = pytest.StashKey[bool]()


def stack_labels(config: pytest.Config) -> dict[str, str]:
    """The labels of this session's stacks; the first call takes down what crashed sessions left."""
    rootdir = str(config.rootpath)
    if not config.stash.get(_REAPED, False):
        config.stash[_REAPED] = True
        reap(rootdir, engine_host(config))
    return session_labels(rootdir)
