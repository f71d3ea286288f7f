"""Block I/O, memory swappiness and real-time CPU limits of a container's cgroup, on v1 and v2.

What the host offers (`support`) decides what create accepts, warns about or refuses, as
dockerd's sysinfo does; `writes` gives the (controller, file, value) writes for a leaf, and
`apply` writes them. A real-time runtime needs the same runtime allotted to every parent
(the kernel refuses a child more than its parent has): `apply` raises the engine's parent
cgroup's `cpu.rt_runtime_us` by what the container asks for first. A removed cgroup keeps its
share in its parent's sum until the kernel releases it, later and asynchronously (after rmdir,
once the last reference goes), so `release_rt` gives a cgroup's share back before its rmdir.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass

from runtime.linux.cgroup_files import write_value
from runtime.spec import Resources

UNIFIED = "unified"  # the v2 hierarchy in write plans, as cgroups.UNIFIED
V1_ROOT = "/sys/fs/cgroup"


@dataclass(frozen=True)
class Support:
    blkio_weight: bool = False
    blkio_weight_device: bool = False
    blkio_throttle: bool = False
    swappiness: bool = False
    cpu_rt: bool = False


@functools.lru_cache(maxsize=1)
def support() -> Support:
    """What this host's cgroups can do (dockerd's sysinfo), from the files its root cgroups have."""
    if os.path.exists(os.path.join(V1_ROOT, "cgroup.controllers")):  # v2 only
        controllers = _read(os.path.join(V1_ROOT, "cgroup.controllers")).split()
        has_io = "io" in controllers
        weight = has_io and any(os.path.exists(os.path.join(V1_ROOT, d, n)) for d in _children()
                                for n in ("io.bfq.weight", "io.weight"))
        return Support(blkio_weight=weight, blkio_weight_device=weight, blkio_throttle=has_io)

    def has(controller: str, name: str) -> bool:
        return os.path.exists(os.path.join(V1_ROOT, controller, name))

    return Support(
        blkio_weight=has("blkio", "blkio.weight") or has("blkio", "blkio.bfq.weight"),
        blkio_weight_device=has("blkio", "blkio.weight_device") or has("blkio", "blkio.bfq.weight_device"),
        blkio_throttle=has("blkio", "blkio.throttle.read_bps_device"),
        swappiness=has("memory", "memory.swappiness"),
        cpu_rt=has("cpu", "cpu.rt_runtime_us"))


def writes(resources: Resources, v2: bool) -> list[tuple[str, str, str]]:
    r = resources
    out: list[tuple[str, str, str]] = []
    if v2:
        if r.blkio_weight:
            out.append((UNIFIED, "io.weight", f"default {r.blkio_weight}"))
        out += [(UNIFIED, "io.weight", f"{device} {weight}") for device, weight in r.blkio_weight_devices]
        limits: dict[str, list[str]] = {}
        for kind, device, rate in r.blkio_throttle:
            key = {"read_bps": "rbps", "write_bps": "wbps", "read_iops": "riops", "write_iops": "wiops"}[kind]
            limits.setdefault(device, []).append(f"{key}={rate}")
        out += [(UNIFIED, "io.max", f"{device} {' '.join(items)}") for device, items in limits.items()]
        return out
    if r.blkio_weight:
        out.append(("blkio", "blkio.weight", str(r.blkio_weight)))
    out += [("blkio", "blkio.weight_device", f"{device} {weight}") for device, weight in r.blkio_weight_devices]
    out += [("blkio", f"blkio.throttle.{kind}_device", f"{device} {rate}") for kind, device, rate in r.blkio_throttle]
    if r.memory_swappiness is not None:
        out.append(("memory", "memory.swappiness", str(r.memory_swappiness)))
    if r.cpu_rt_period:
        out.append(("cpu", "cpu.rt_period_us", str(r.cpu_rt_period)))
    if r.cpu_rt_runtime:
        out.append(("cpu", "cpu.rt_runtime_us", str(r.cpu_rt_runtime)))
    return out


def apply(v1: Mapping[str, str], unified: str | None, v2: bool, resources: Resources, root: str = "") -> None:
    """Write the limits into a new leaf (`v1`: controller -> leaf dir, `unified`: the v2 leaf); `root`:
    the cpu hierarchy's mount point, below which every level gets its real-time share first."""
    if resources.cpu_rt_runtime and "cpu" in v1 and root:
        _allot_rt(root, v1["cpu"], resources.cpu_rt_runtime, resources.cpu_rt_period or 0)
    for controller, name, value in writes(resources, v2):
        leaf = unified if controller == UNIFIED else v1.get(controller)
        if leaf is None:
            raise OSError(errno.ENOENT, f"cgroup: no {controller or 'unified'} hierarchy for {name}")
        path = os.path.join(leaf, name)
        if name == "blkio.weight" and not os.path.exists(path):
            path = os.path.join(leaf, "blkio.bfq.weight")
        write_value(path, value)


def _allot_rt(root: str, leaf: str, runtime: int, period: int) -> None:
    """Give every level between `root` and `leaf` the real-time time its children hold plus the new
    leaf's, top down (the kernel refuses a child more than its parent has; shares are compared per
    period). The leaf's siblings that ended are gone, so what they held is given back here."""
    levels = []
    at = os.path.dirname(leaf)
    while at.startswith(root.rstrip("/") + "/"):
        levels.append(at)
        at = os.path.dirname(at)
    leaf_period = period or _int(os.path.join(leaf, "cpu.rt_period_us")) or 1_000_000
    for level in reversed(levels):
        level_period = _int(os.path.join(level, "cpu.rt_period_us")) or 1_000_000
        held = sum(_share(child, level_period) for child in _subdirs(level) if child != leaf)
        wanted = held + -(-runtime * level_period // leaf_period)
        write_value(os.path.join(level, "cpu.rt_runtime_us"), str(min(wanted, level_period)))


def release_rt(path: str) -> None:
    """Zero a cgroup's real-time runtime before it is removed. The kernel checks every write against
    its own list of children, where a removed cgroup stays until released (often after the next
    container asked for the same time: its leaf write was then refused with EINVAL)."""
    name = os.path.join(path, "cpu.rt_runtime_us")
    if _int(name) > 0:
        with contextlib.suppress(OSError):  # EBUSY while a real-time task is still in it: rmdir says
            write_value(name, "0")


def _share(path: str, period: int) -> int:
    runtime, own = _int(os.path.join(path, "cpu.rt_runtime_us")), _int(os.path.join(path, "cpu.rt_period_us"))
    return -(-max(runtime, 0) * period // own) if own else 0


def _subdirs(path: str) -> list[str]:
    with contextlib.suppress(OSError):
        return [e.path for e in os.scandir(path) if e.is_dir(follow_symlinks=False)]
    return []


def _int(path: str) -> int:
    try:
        return int(_read(path))
    except ValueError:
        return 0


def _children() -> list[str]:
    with contextlib.suppress(OSError):
        return [e.name for e in os.scandir(V1_ROOT) if e.is_dir()][:5]
    return []


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


