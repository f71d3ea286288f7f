"""Changing the limits of a live container's cgroup (`docker update`), on v1 and v2.

`update_writes` (pure) is `limit_writes` plus what an update must also be
able to undo (a pids limit lifted back to `max`) and the block I/O weight;
`apply` writes them. v1 refuses a memory limit above the memory+swap limit,
so when the memory write fails the memory+swap one goes first and the
memory one is tried again, as runc does.
"""

from __future__ import annotations

import errno
import os

from runtime.linux.cgroup_files import write_value
from runtime.linux.cgroups import UNIFIED, Cgroup, CgroupError, Layout, limit_writes
from runtime.spec import Resources

BLKIO_FILES = {"v1-hybrid": ("blkio", ("blkio.weight", "blkio.bfq.weight")),
               "v2": (UNIFIED, ("io.bfq.weight", "io.weight"))}
_MEMSW = ("memory.memsw.limit_in_bytes", "memory.swap.max")


def update_writes(resources: Resources, layout: Layout, lift_pids: bool) -> list[tuple[str, str, str]]:
    writes = limit_writes(resources, layout)
    if lift_pids and resources.pids_limit is None:
        writes.append((UNIFIED if layout == "v2" else "pids", "pids.max", "max"))
    return writes


def blkio_weight_file(cgroup: Cgroup) -> str | None:
    """The file that takes a block I/O weight in this cgroup, or None when the kernel has none."""
    where, names = BLKIO_FILES[cgroup.mounts.layout]
    leaf = cgroup.unified if where == UNIFIED else cgroup.v1.get(where)
    for name in names:
        if leaf and os.path.exists(os.path.join(leaf, name)):
            return os.path.join(leaf, name)
    return None


def apply(cgroup: Cgroup, writes: list[tuple[str, str, str]], blkio_weight: int | None = None) -> None:
    """Write `writes` (from `update_writes`) into the live cgroup; CgroupError names the file that failed."""
    paths: list[tuple[str, str]] = []
    for controller, filename, value in writes:
        leaf = cgroup.unified if controller == UNIFIED else cgroup.v1.get(controller)
        path = os.path.join(leaf, filename) if leaf else ""
        if leaf and (filename not in _MEMSW or os.path.exists(path)):
            paths.append((path, value))
    memsw = [(p, v) for p, v in paths if os.path.basename(p) in _MEMSW]
    done: set[str] = set()
    for path, value in paths:
        if path in done:
            continue
        try:
            write_value(path, value)
        except CgroupError as exc:
            if os.path.basename(path) != "memory.limit_in_bytes" or exc.errno != errno.EINVAL or not memsw:
                raise
            for swap_path, swap_value in memsw:  # raise memory+swap first, then memory fits under it
                write_value(swap_path, swap_value)
                done.add(swap_path)
            write_value(path, value)
    if blkio_weight:
        target = blkio_weight_file(cgroup)
        if target is None:
            raise CgroupError(errno.ENOENT, "the kernel has no block I/O weight for this cgroup")
        write_value(target, str(blkio_weight) if "bfq" in target or "blkio" in target else f"default {blkio_weight}")
