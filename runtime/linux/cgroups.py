"""Container cgroups on hybrid v1 (+ unified v2 membership) and pure v2 machines.

Every container gets one leaf `<mount>/<prefix>/<name>` in each controller
hierarchy we use and in the unified v2 hierarchy. On a hybrid machine the v1
controllers carry the limits and the v2 leaf gives membership,
`cgroup.events`, `cgroup.kill`, `cgroup.freeze` and CLONE_INTO_CGROUP; on
a pure v2 machine the v2 leaf does everything. A v2 cgroup that received
`cgroup.kill` kills every process later cloned into it, so `create` always
makes a fresh leaf (an existing empty one is removed first).

`limit_writes` (pure) decides which file gets which value; the class does
the file system work (the device policy: runtime/linux/devices.py).
Processes that exited unreaped no longer count (`pids()`, `remove()`).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import math
import os
import signal
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from runtime.linux import cgroup_extra, devices
from runtime.linux.cgroup_files import CgroupError, keyed, write_value
from runtime.spec import Resources

Layout = Literal["v1-hybrid", "v2"]
V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "blkio", "devices")
V2_CONTROLLERS = ("cpu", "cpuset", "memory", "pids", "io")
UNIFIED = "unified"  # the key of the v2 hierarchy in write plans
_OPTIONAL = frozenset({"memory.memsw.limit_in_bytes", "memory.swap.max"})  # absent without swap accounting
_WAIT_STEP = 0.005


@dataclass(frozen=True)
class Mounts:
    layout: Layout
    v1: Mapping[str, str]  # controller -> mount point, for the controllers we use
    unified: str | None  # cgroup2 mount point


# -- decisions (pure) --------------------------------------------------------------------------


def parse_mountinfo(text: str) -> Mounts:
    """Where the cgroup hierarchies are mounted, from /proc/self/mountinfo text."""
    v1: dict[str, str] = {}
    unified: str | None = None
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        point = left.split()[4].replace("\\040", " ")
        fstype, _source, options = [*right.split(), "", "", ""][:3]
        if fstype == "cgroup2" and unified is None:
            unified = point
        elif fstype == "cgroup":
            for opt in options.split(","):
                if opt in V1_CONTROLLERS and opt not in v1:
                    v1[opt] = point
    if v1:
        return Mounts("v1-hybrid", v1, unified)
    if unified is None:
        raise CgroupError(errno.ENOENT, "no cgroup file system is mounted (see /proc/self/mountinfo)")
    return Mounts("v2", {}, unified)


def cpu_weight(shares: int) -> int:
    """cgroup v1 cpu.shares -> v2 cpu.weight: 2 -> 1, 1024 (the default) -> 100, 262144 -> 10000.

    The log-scale mapping of current runc/crun; the older linear one sent
    the default 1024 to 39, below an unlimited neighbour's 100.
    """
    shares = min(max(shares, 2), 262144)
    bits = math.log2(shares)
    return min(max(math.ceil(10 ** ((bits * bits + 125 * bits) / 612.0 - 7.0 / 34.0)), 1), 10000)


def limit_writes(resources: Resources, layout: Layout) -> list[tuple[str, str, str]]:
    """The (controller or UNIFIED, file, value) writes that apply `resources`, in order; unset values skip."""
    r = resources
    pids = None if r.pids_limit is None else (r.pids_limit if r.pids_limit > 0 else "max")
    if layout == "v2":
        swap = "max" if r.memory_swap is not None and r.memory_swap < 0 else (
            max(r.memory_swap - r.memory, 0) if r.memory_swap and r.memory else None)  # v2 limits swap alone
        quota = r.cpu_quota if r.cpu_quota and r.cpu_quota > 0 else "max"
        table: list[tuple[str, str, object]] = [
            (UNIFIED, "memory.max", r.memory), (UNIFIED, "memory.swap.max", swap),
            (UNIFIED, "memory.low", r.memory_reservation),
            (UNIFIED, "cpu.max", f"{quota} {r.cpu_period or 100000}" if r.cpu_quota or r.cpu_period else None),
            (UNIFIED, "cpu.weight", cpu_weight(r.cpu_shares) if r.cpu_shares else None),
            (UNIFIED, "cpuset.cpus", r.cpuset_cpus), (UNIFIED, "cpuset.mems", r.cpuset_mems),
            (UNIFIED, "pids.max", pids)]
    else:
        table = [
            ("memory", "memory.limit_in_bytes", r.memory),
            ("memory", "memory.memsw.limit_in_bytes", _v1_limit(r.memory_swap)),
            ("memory", "memory.soft_limit_in_bytes", r.memory_reservation),
            ("cpu", "cpu.cfs_period_us", r.cpu_period),  # before the quota it bounds
            ("cpu", "cpu.cfs_quota_us", _v1_limit(r.cpu_quota)),
            ("cpu", "cpu.shares", r.cpu_shares),
            ("cpuset", "cpuset.cpus", r.cpuset_cpus), ("cpuset", "cpuset.mems", r.cpuset_mems),
            ("pids", "pids.max", pids)]
    return [(where, name, str(value)) for where, name, value in table if value not in (None, "", 0)]


def _v1_limit(value: int | None) -> int | None:
    """v1 spells "unlimited" -1; 0/None means not set."""
    return None if not value else value if value > 0 else -1


def _check_name(name: str) -> None:
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(f"invalid cgroup name {name!r}")


# -- file system helpers -----------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def current_mounts() -> Mounts:
    with open("/proc/self/mountinfo") as f:
        return parse_mountinfo(f.read())


def layout() -> Layout:
    """"v1-hybrid" (v1 controllers, maybe a unified v2 mount beside them) or "v2"; detected once."""
    return current_mounts().layout


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _read_optional(path: str) -> str:
    try:
        return _read(path)
    except (FileNotFoundError, NotADirectoryError):
        return ""


def _mkdir(path: str) -> None:
    try:
        os.mkdir(path, 0o755)
    except OSError as exc:
        raise CgroupError(exc.errno, f"cgroup: mkdir {path}: {exc.strerror}") from exc


def _rmdir_tree(path: str, timeout: float = 1.0) -> None:
    """rmdir `path` and any sub-cgroups, bottom up; retry while the kernel still says busy."""
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(path):
            if entry.is_dir(follow_symlinks=False):
                _rmdir_tree(entry.path, timeout)
    cgroup_extra.release_rt(path)
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                raise CgroupError(exc.errno, f"cgroup: rmdir {path}: {exc.strerror}") from exc
            time.sleep(_WAIT_STEP)


def _ensure_parent(parent: str, controllers: tuple[str, ...], v2: bool) -> None:
    with contextlib.suppress(FileExistsError):
        os.mkdir(parent, 0o755)
    if "cpuset" in controllers and not v2:
        _inherit_cpuset(parent)
    if v2 and controllers:  # let the leaves have the controllers: enable them at the root and in the parent
        for where in (os.path.dirname(parent), parent):
            available = _read(os.path.join(where, "cgroup.controllers")).split()
            enabled = _read(os.path.join(where, "cgroup.subtree_control")).split()
            for name in V2_CONTROLLERS:
                if name in available and name not in enabled:
                    write_value(os.path.join(where, "cgroup.subtree_control"), "+" + name)


def _inherit_cpuset(path: str) -> None:
    """A new v1 cpuset cgroup starts with no cpus/mems (nothing could run in it): copy the parent's."""
    for name in ("cpuset.cpus", "cpuset.mems"):
        own = os.path.join(path, name)
        if not _read(own).strip():
            write_value(own, _read(os.path.join(os.path.dirname(path), name)).strip())


# -- the cgroup of one container ---------------------------------------------------------------


class Cgroup:
    def __init__(self, prefix: str, name: str, mounts: Mounts) -> None:
        for part in [*prefix.split("/"), name]:  # a prefix may be a nested path (CgroupParent)
            _check_name(part)
        self.prefix, self.name, self.mounts = prefix, name, mounts
        # One leaf per distinct mount point (co-mounted cpu,cpuacct share one).
        self.v1: dict[str, str] = {c: os.path.join(m, prefix, name) for c, m in mounts.v1.items()}
        self.unified: str | None = os.path.join(mounts.unified, prefix, name) if mounts.unified else None

    def dirs(self) -> list[str]:
        """Every leaf directory of this cgroup, v1 first, then the unified one."""
        seen = list(dict.fromkeys(self.v1.values()))
        return [*seen, self.unified] if self.unified else seen

    @classmethod
    def create(cls, prefix: str, name: str, resources: Resources, mounts: Mounts | None = None) -> Cgroup:
        """Make a fresh leaf in every hierarchy and write the limits; on failure nothing is left."""
        cg = cls(prefix, name, mounts or current_mounts())
        busy = [d for d in cg.dirs() if os.path.isdir(d) and _read(os.path.join(d, "cgroup.procs")).strip()]
        if busy:
            raise CgroupError(errno.EBUSY, f"cgroup {busy[0]} exists and has processes")
        made: list[str] = []
        try:
            for leaf in cg.dirs():
                controllers = tuple(c for c, d in cg.v1.items() if d == leaf) if leaf != cg.unified else (
                    V2_CONTROLLERS if cg.mounts.layout == "v2" else ())
                _ensure_parent(os.path.dirname(leaf), controllers, v2=leaf == cg.unified)
                _rmdir_tree(leaf)  # an old empty leaf may be poisoned by cgroup.kill
                _mkdir(leaf)
                made.append(leaf)
                if "cpuset" in controllers and leaf != cg.unified:
                    _inherit_cpuset(leaf)
            for controller, filename, value in limit_writes(resources, cg.mounts.layout):
                where = cg.unified if controller == UNIFIED else cg.v1.get(controller)
                path = os.path.join(where, filename) if where else ""
                if where is None or (filename in _OPTIONAL and not os.path.exists(path)):
                    continue  # controller not mounted / no swap accounting: ignored, as Docker does
                write_value(path, value)
            cgroup_extra.apply(cg.v1, cg.unified, cg.mounts.layout == "v2", resources, cg.mounts.v1.get("cpu", ""))
            if resources.devices is not None:  # v1's devices controller where mounted, else BPF on the v2 leaf
                devices.apply(resources.devices, cg.v1.get("devices"), cg.unified)
        except BaseException:
            for leaf in made:
                cgroup_extra.release_rt(leaf)
                with contextlib.suppress(OSError):
                    os.rmdir(leaf)
            raise
        return cg

    @classmethod
    def open(cls, prefix: str, name: str, mounts: Mounts | None = None) -> Cgroup:
        """Adopt an existing leaf again (after an engine restart)."""
        cg = cls(prefix, name, mounts or current_mounts())
        if not any(os.path.isdir(d) for d in cg.dirs()):
            raise CgroupError(errno.ENOENT, f"cgroup {prefix}/{name} does not exist")
        return cg

    def join(self, pid: int) -> None:
        """Move `pid` into every leaf (before pivot_root and before unsharing the cgroup ns)."""
        for leaf in self.dirs():
            write_value(os.path.join(leaf, "cgroup.procs"), str(pid))

    def join_self_v1(self) -> None:
        """Move the calling single-threaded process into every v1 leaf (its unified leaf: CLONE_INTO_CGROUP).

        It writes 0 to each leaf's `tasks`, moving only the calling thread,
        which is the whole process here: the kernel then skips the
        cgroup-wide lock that a write to cgroup.procs takes, and with it an
        RCU grace period (10-15 ms on these machines) on every birth.
        """
        for leaf in dict.fromkeys(self.v1.values()):
            write_value(os.path.join(leaf, "tasks"), "0")

    def fd_for_clone(self) -> int | None:
        """A new O_DIRECTORY fd of the v2 leaf for clone3(CLONE_INTO_CGROUP); the caller closes it.

        On a hybrid machine this covers only the unified hierarchy: the v1
        leaves still need `join()`.
        """
        if self.unified is None:
            return None
        return os.open(self.unified, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def pids(self) -> list[int]:
        """The processes in the cgroup (the unified leaf lists every member on a hybrid machine)."""
        return [int(p) for p in _read_optional(os.path.join(self.unified or self.dirs()[0], "cgroup.procs")).split()]

    def oom_killed(self) -> bool:
        """Whether the kernel's OOM killer killed a process of this cgroup (v1 oom_control / v2 memory.events)."""
        if self.mounts.layout == "v2":
            assert self.unified is not None
            path = os.path.join(self.unified, "memory.events")
        elif "memory" in self.v1:
            path = os.path.join(self.v1["memory"], "memory.oom_control")
        else:
            return False
        return keyed(_read_optional(path)).get("oom_kill", 0) > 0

    def kill(self, timeout: float = 2.0) -> bool:
        """SIGKILL every process (v2 cgroup.kill, else freeze + signal + thaw); True once none is left."""
        deadline = time.monotonic() + timeout
        kill_file = os.path.join(self.unified, "cgroup.kill") if self.unified else None
        while self.pids():
            if kill_file and os.path.exists(kill_file):
                write_value(kill_file, "1")
            else:
                self._signal_all(signal.SIGKILL)
            if time.monotonic() > deadline:
                return not self.pids()
            time.sleep(_WAIT_STEP)
        return True

    def _signal_all(self, sig: int) -> None:
        # Freezing first keeps a fork loop from outrunning us; SIGKILL wakes frozen v2 tasks, v1 ones die on thaw.
        frozen = self._set_frozen(True, timeout=0.2)
        try:
            for pid in self.pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
        finally:
            if frozen:
                self._set_frozen(False, timeout=0.2)

    def freeze(self, timeout: float = 2.0) -> None:
        if not self._set_frozen(True, timeout):
            raise CgroupError(errno.ETIMEDOUT, f"cgroup {self.prefix}/{self.name} did not freeze in {timeout}s")

    def thaw(self, timeout: float = 2.0) -> None:
        if not self._set_frozen(False, timeout):
            raise CgroupError(errno.ETIMEDOUT, f"cgroup {self.prefix}/{self.name} did not thaw in {timeout}s")

    def _set_frozen(self, frozen: bool, timeout: float) -> bool:
        """Ask for the state and wait until the kernel reports it; False on timeout or without a freezer."""
        if "freezer" in self.v1:
            path = state = os.path.join(self.v1["freezer"], "freezer.state")
            want = expect = "FROZEN" if frozen else "THAWED"
        elif self.unified and os.path.exists(os.path.join(self.unified, "cgroup.freeze")):
            path, want = os.path.join(self.unified, "cgroup.freeze"), "1" if frozen else "0"
            state, expect = os.path.join(self.unified, "cgroup.events"), f"frozen {want}"
        else:
            return False
        deadline = time.monotonic() + timeout
        write_value(path, want)
        while expect not in _read(state).splitlines():
            if time.monotonic() > deadline:
                return False
            time.sleep(_WAIT_STEP / 5)
            if want == "FROZEN":  # v1 stays FREEZING while a task forks: asking again completes it
                write_value(path, want)
        return True

    def remove(self, timeout: float = 1.0) -> None:
        """rmdir every leaf (retrying while busy); missing leaves are fine. The parent stays."""
        errors = []
        for leaf in self.dirs():
            try:
                _rmdir_tree(leaf, timeout)
            except CgroupError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

    def stats(self) -> dict[str, dict[str, int | None]]:
        """Usage numbers for the stats endpoint: memory bytes, pids, cpu nanoseconds (None: not available)."""
        v2 = self.mounts.layout == "v2"

        def at(controller: str, filename: str) -> int | None:
            leaf = self.unified if v2 else self.v1.get(controller)
            text = _read_optional(os.path.join(leaf, filename)).strip() if leaf else ""
            return int(text) if text.lstrip("-").isdigit() and int(text) < 2**62 else None

        if v2:
            mem = {"usage": at("memory", "memory.current"), "limit": at("memory", "memory.max"),
                   "max_usage": at("memory", "memory.peak")}
            usec = keyed(_read_optional(os.path.join(self.unified or "", "cpu.stat")))
            cpu = {k + "_ns": usec[k + "_usec"] * 1000 if k + "_usec" in usec else None
                   for k in ("usage", "user", "system")}
        else:
            mem = {"usage": at("memory", "memory.usage_in_bytes"), "limit": at("memory", "memory.limit_in_bytes"),
                   "max_usage": at("memory", "memory.max_usage_in_bytes")}
            cpu = {"usage_ns": at("cpuacct", "cpuacct.usage"), "user_ns": at("cpuacct", "cpuacct.usage_user"),
                   "system_ns": at("cpuacct", "cpuacct.usage_sys")}
        memory_dir = self.unified if v2 else self.v1.get("memory")
        if memory_dir:
            mem.update(keyed(_read_optional(os.path.join(memory_dir, "memory.stat"))))
        pids = {"current": at("pids", "pids.current"), "limit": at("pids", "pids.max")}
        return {"memory": mem, "cpu": cpu, "pids": pids}

    @staticmethod
    def cleanup_prefix(prefix: str, kill: bool = True, mounts: Mounts | None = None) -> list[str]:
        """Remove every leaf of `prefix` (killing what still runs there when `kill`) and the parent.

        Returns the directories that could not be removed.
        """
        _check_name(prefix)
        m = mounts or current_mounts()
        left: list[str] = []
        for name in sorted(_leaf_names(prefix, m)):
            cg = Cgroup(prefix, name, m)
            if kill:
                cg.kill()
            try:
                cg.remove(timeout=1.0 if kill else 0.0)
            except CgroupError:
                left.extend(d for d in cg.dirs() if os.path.isdir(d))
        for parent in _parents(prefix, m):
            try:
                _rmdir_tree(parent)
            except CgroupError:
                left.append(parent)
        return left


def _parents(prefix: str, mounts: Mounts) -> Iterator[str]:
    points = list(dict.fromkeys(mounts.v1.values()))
    if mounts.unified:
        points.append(mounts.unified)
    for point in points:
        yield os.path.join(point, prefix)


def _leaf_names(prefix: str, mounts: Mounts) -> set[str]:
    names: set[str] = set()
    for parent in _parents(prefix, mounts):
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            names.update(e.name for e in os.scandir(parent) if e.is_dir(follow_symlinks=False))
    return names
