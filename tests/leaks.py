"""What kernel objects and processes of ours exist: a snapshot to compare.

Every object the engine makes carries the prefix `pyc` (plus an engine id);
a test module that leaves a new one behind has leaked it.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

PREFIX = "pyc"


@dataclass(frozen=True)
class KernelObjects:
    links: frozenset[str]
    netns: frozenset[str]
    mounts: frozenset[str]
    cgroups: frozenset[str]
    processes: frozenset[str]

    def minus(self, before: KernelObjects) -> dict[str, list[str]]:
        out = {}
        for field in ("links", "netns", "mounts", "cgroups", "processes"):
            new = getattr(self, field) - getattr(before, field)
            if new:
                out[field] = sorted(new)
        return out


def _links(prefix: str) -> frozenset[str]:
    try:
        names = os.listdir("/sys/class/net")
    except OSError:
        return frozenset()
    return frozenset(n for n in names if n.startswith(prefix))


def _netns(prefix: str) -> frozenset[str]:
    try:
        return frozenset(n for n in os.listdir("/run/netns") if n.startswith(prefix))
    except OSError:
        return frozenset()


def _mounts(prefix: str) -> frozenset[str]:
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return frozenset()
    points = (line.split()[4] for line in lines)
    return frozenset(p for p in points if f"/{prefix}" in p or "pycompose" in p)


def _cgroups(prefix: str) -> frozenset[str]:
    found = set()
    root = Path("/sys/fs/cgroup")
    for depth in ("*", "*/*", "*/*/*"):
        for path in root.glob(depth):
            if path.name.startswith(prefix) and path.is_dir():
                found.add(str(path))
    return frozenset(found)


# Every process a test session starts inherits this variable; the leak check
# counts only processes carrying this session's value, so other sessions on
# the same machine (a developer's, another checkout's) are not blamed.
SESSION_VARIABLE = "PYCOMPOSE_TEST_SESSION"


def _has_marker(pid: str, marker: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return marker in f.read().split(b"\0")
    except OSError:
        return False


def _processes(marker: str | None) -> frozenset[str]:
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True, check=False).stdout
    mine = os.getpid()
    wanted = f"{SESSION_VARIABLE}={marker}".encode() if marker else None
    hits = set()
    for line in out.splitlines():
        pid, _, args = line.strip().partition(" ")
        if int(pid) == mine:
            continue
        ours = "-m runtime" in args or "runtime.containers.supervisor" in args or "pycompose engine" in args
        if ours and (wanted is None or _has_marker(pid, wanted)):
            hits.add(f"{pid} {args}")
    return frozenset(hits)


def snapshot(prefix: str = PREFIX) -> KernelObjects:
    marker = os.environ.get(SESSION_VARIABLE)
    return KernelObjects(_links(prefix), _netns(prefix), _mounts(prefix), _cgroups(prefix), _processes(marker))
