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


def _processes() -> frozenset[str]:
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True, check=False).stdout
    mine = os.getpid()
    hits = set()
    for line in out.splitlines():
        pid, _, args = line.strip().partition(" ")
        if int(pid) == mine:
            continue
        if "-m runtime" in args or "runtime.supervisor" in args or "pycompose engine" in args:
            hits.add(f"{pid} {args}")
    return frozenset(hits)


def snapshot(prefix: str = PREFIX) -> KernelObjects:
    return KernelObjects(_links(prefix), _netns(prefix), _mounts(prefix), _cgroups(prefix), _processes())
