"""`GET /containers/{id}/top`: the container's processes as the host's `ps` shows them.

As Docker does: run `ps` with the caller's arguments (`-ef` by default) on
the host and keep the rows whose PID is in the container's cgroup; the last
column (the command) keeps its spaces.
"""

from __future__ import annotations

import shlex
import subprocess
from typing import TYPE_CHECKING, Any

from runtime.errors import EngineError, bad_request, conflict
from runtime.linux import cgroup_place
from runtime.linux.cgroups import CgroupError
from runtime.spec import spec_from_dict

if TYPE_CHECKING:
    from runtime.containers.records import Record


def top(record: Record, ps_args: str) -> dict[str, Any]:
    """Titles and process rows (blocking: run it in a thread)."""
    if record.state.status not in ("running", "paused"):
        raise conflict(f"Container {record.id} is not running")
    spec = spec_from_dict(record.spec)
    try:
        pids = set(cgroup_place.open_cgroup(spec).pids())
    except CgroupError as exc:
        raise conflict(f"Container {record.id} is not running: {exc}") from exc
    try:
        args = shlex.split(ps_args or "-ef")
    except ValueError as exc:
        raise bad_request(f"invalid ps arguments: {exc}") from exc
    try:
        done = subprocess.run(["ps", *args], capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineError(500, f"error running ps: {exc}") from exc
    if done.returncode != 0:  # the arguments' fault (dockerd says 500; a bad input is a 400 here)
        first = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise bad_request(f"ps: {first[0] if first else f'exit status {done.returncode}'}")
    return parse_ps(done.stdout, pids)


def parse_ps(output: str, pids: set[int]) -> dict[str, Any]:
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        raise bad_request("ps printed nothing")
    titles = lines[0].split()
    if "PID" not in titles:
        raise bad_request(f"couldn't find PID field in ps output: {lines[0]!r}")
    at = titles.index("PID")
    processes = []
    for line in lines[1:]:
        fields = line.split(None, len(titles) - 1)
        if len(fields) > at and fields[at].isdigit() and int(fields[at]) in pids:
            processes.append(fields)
    return {"Titles": titles, "Processes": processes}
