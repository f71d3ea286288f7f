"""What kernel objects and processes of ours exist: a snapshot to compare.

Every object the engine makes carries the prefix `pyc` (plus an engine id);
a test module that leaves a new one behind has leaked it. Objects of
engines that belong to another test session or a developer's engine on
the same machine (their daemon or supervisor runs without this session's
marker) are not counted: they come and go on their own.
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
    nft_tables: frozenset[str] = frozenset()
    foreign: frozenset[str] = frozenset()  # prefixes of other sessions' engines (see `_foreign_prefixes`)

    def minus(self, before: KernelObjects) -> dict[str, list[str]]:
        out = {}
        # An engine foreign at either moment stays foreign: what it leaves when it stops is not ours.
        foreign = self.foreign | before.foreign
        for field in ("links", "netns", "mounts", "cgroups", "processes", "nft_tables"):
            new = getattr(self, field) - getattr(before, field)
            if field != "processes":
                new = _mine(new, foreign)
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
    """Our cgroup directories up to three levels down; one that vanishes while we look is gone."""
    found = set()
    level = ["/sys/fs/cgroup"]
    for _ in range(3):
        below = []
        for parent in level:
            try:
                entries = list(os.scandir(parent))
            except OSError:  # removed under us (an engine deleting its cgroups as it stops)
                continue
            for entry in entries:
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    continue
                if not is_dir:
                    continue
                if entry.name.startswith(prefix):
                    found.add(entry.path)
                below.append(entry.path)
        level = below
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


def _nft_tables(prefix: str) -> frozenset[str]:
    """nftables tables named with our prefix (`table ip pyc3f9a`), from `nft list tables`."""
    try:
        out = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return frozenset()
    names = (line.split()[-1] for line in out.splitlines() if line.startswith("table "))
    return frozenset(n for n in names if n.startswith(prefix))


def _foreign_prefixes(marker: str | None) -> frozenset[str]:
    """Prefixes of engines whose daemon or supervisor is not of this session."""
    if marker is None:
        return frozenset()
    wanted = f"{SESSION_VARIABLE}={marker}".encode()
    found = set()
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "-m" not in argv or not any(a in ("runtime", "runtime.containers.supervisor") for a in argv):
            continue
        if _has_marker(pid, wanted):
            continue
        prefix = _arg(argv, "--prefix")
        root = _arg(argv, "--root")
        if not prefix and root:
            try:
                prefix = PREFIX + (Path(root) / "engine-id").read_text().strip()
            except OSError:
                continue
        if prefix:
            found.add(prefix)
    return frozenset(found)


def _arg(argv: list[str], name: str) -> str:
    for i, arg in enumerate(argv[:-1]):
        if arg == name:
            return argv[i + 1]
    return ""


def _mine(names: frozenset[str], foreign: frozenset[str]) -> frozenset[str]:
    return frozenset(n for n in names if not any(f in n for f in foreign))


def snapshot(prefix: str = PREFIX) -> KernelObjects:
    marker = os.environ.get(SESSION_VARIABLE)
    foreign = _foreign_prefixes(marker)
    return KernelObjects(_mine(_links(prefix), foreign), _netns(prefix), _mine(_mounts(prefix), foreign),
                         _mine(_cgroups(prefix), foreign), _processes(marker),
                         _mine(_nft_tables(prefix), foreign), foreign)
