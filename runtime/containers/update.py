"""`POST /containers/{id}/update`: new cgroup limits and restart policy for a container, as dockerd.

`merged` (pure) lays the request over the stored HostConfig with dockerd's
rules (a zero leaves a value as it is; NanoCpus and CpuQuota/CpuPeriod
exclude each other across updates; a memory limit above the stored
memory+swap limit needs a new memory+swap limit) and checks the result as
create does. `update` applies it to the running container's cgroup, then
stores it in the record (HostConfig for inspect, the spec for the next
start); a failure leaves the record as it was.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from runtime.containers import create_config, restart
from runtime.errors import EngineError, bad_request
from runtime.linux import cgroup_place, cgroup_update
from runtime.linux.cgroups import CgroupError
from runtime.spec import Resources, spec_from_dict

if TYPE_CHECKING:
    from runtime.containers.records import Record
    from runtime.containers.table import ContainerTable

RESOURCE_KEYS = ("Memory", "MemorySwap", "MemoryReservation", "NanoCpus", "CpuShares", "CpuQuota", "CpuPeriod",
                 "CpusetCpus", "CpusetMems", "PidsLimit", "BlkioWeight")
IGNORED_KEYS = frozenset({"RestartPolicy", "KernelMemory", "KernelMemoryTCP"})  # KernelMemory: removed in 1.45
CPUSET = re.compile(r"[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*")
NO_BLKIO_WEIGHT = "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."


def _cannot(record: Record, message: str) -> EngineError:
    return bad_request(f"Cannot update container {record.id}: {message}")


def _int(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"json: cannot unmarshal {type(value).__name__} into Go struct field "
                          f"UpdateConfig.{key} of type int64")
    return value


def _cpuset(text: str, what: str) -> str:
    """A cpuset list (`0-2,4`) checked as dockerd checks it; CPUs beyond this host's are refused."""
    if not CPUSET.fullmatch(text):
        raise bad_request(f"Invalid value {text} for cpuset {what}")
    highest = max(int(n) for n in re.split(r"[,-]", text))
    if what == "cpus" and highest >= (os.cpu_count() or 1):
        raise bad_request(f"Requested CPUs are not available - requested {text}, available: "
                          f"0-{(os.cpu_count() or 1) - 1}")
    return text


def merged(record: Record, body: dict[str, Any]) -> dict[str, Any]:
    """The HostConfig after the update (dockerd's container.UpdateContainer), or a 400."""
    known = set(RESOURCE_KEYS) | IGNORED_KEYS
    for key, value in body.items():
        if key not in known and value not in (None, 0, "", [], {}):
            raise bad_request(f"Cannot update container {record.id}: {key} cannot be updated")
    old, hc = record.host_config, dict(record.host_config)
    new = {key: _int(body, key) for key in RESOURCE_KEYS if key not in ("CpusetCpus", "CpusetMems", "PidsLimit")}
    if new["NanoCpus"] > 0 and int(old.get("CpuPeriod") or 0) > 0:
        raise _cannot(record, "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set")
    if new["NanoCpus"] > 0 and int(old.get("CpuQuota") or 0) > 0:
        raise _cannot(record, "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set")
    if (new["CpuPeriod"] > 0 or new["CpuQuota"] > 0) and int(old.get("NanoCpus") or 0) > 0:
        what = "CPU Period" if new["CpuPeriod"] > 0 else "CPU Quota"
        raise _cannot(record, f"Conflicting options: {what} cannot be updated as NanoCPUs has already been set")
    swap_now = int(old.get("MemorySwap") or 0)
    if new["Memory"] and swap_now > 0 and new["Memory"] > swap_now and not new["MemorySwap"]:
        raise _cannot(record, "Memory limit should be smaller than already set memoryswap limit, "
                              "update the memoryswap at the same time")
    for key, value in new.items():
        if value:
            hc[key] = value
    if new["Memory"] and not new["MemorySwap"] and not swap_now:
        hc["MemorySwap"] = 2 * new["Memory"]  # as create: as much swap as memory
    for key, what in (("CpusetCpus", "cpus"), ("CpusetMems", "mems")):
        if body.get(key):
            hc[key] = _cpuset(str(body[key]), what)
    if body.get("PidsLimit") is not None:
        pids = _int(body, "PidsLimit")
        hc["PidsLimit"] = pids if pids > 0 else 0
    if hc.get("BlkioWeight") and not 10 <= int(hc["BlkioWeight"]) <= 1000:
        raise bad_request("Range of blkio weight is from 10 to 1000")
    policy = body.get("RestartPolicy") or {}
    if policy.get("Name"):
        if old.get("AutoRemove") and policy["Name"] != "no":
            raise bad_request("Restart policy cannot be updated because AutoRemove is enabled for the container")
        hc["RestartPolicy"] = restart.validate(policy, False).docker()
    return hc


def _apply(record: Record, resources: Resources, lift_pids: bool, weight: int | None) -> list[str]:
    """Write the limits into the live cgroup (blocking); the warnings dockerd would give."""
    spec = spec_from_dict(record.spec)
    try:
        cgroup = cgroup_place.open_cgroup(spec)  # under CgroupParent when it names one
    except CgroupError:
        return []  # stopped in between: the next start reads the spec
    warnings = []
    if weight and cgroup_update.blkio_weight_file(cgroup) is None:
        warnings.append(NO_BLKIO_WEIGHT)
        weight = None
    writes = cgroup_update.update_writes(resources, cgroup.mounts.layout, lift_pids)
    try:
        cgroup_update.apply(cgroup, writes, weight)
    except CgroupError as exc:
        raise EngineError(500, f"Cannot update container {record.id}: {exc.strerror or exc}") from exc
    return warnings


def _weight_supported() -> bool:
    """Whether this host's cgroups take a block I/O weight at all (for a container that does not run)."""
    if any(os.path.exists(f"/sys/fs/cgroup/blkio/{name}") for name in ("blkio.weight", "blkio.bfq.weight")):
        return True
    try:
        with open("/sys/fs/cgroup/cgroup.controllers") as f:
            return "io" in f.read().split()
    except OSError:
        return False


async def update(table: ContainerTable, ref: str, body: dict[str, Any]) -> dict[str, Any]:
    record = table.records.get(ref)
    async with table.live(record).lock:
        hc = merged(record, body)
        resources = create_config.resources(hc, os.cpu_count() or 1)
        spec = dict(record.spec)
        devices = (spec.get("resources") or {}).get("devices")
        spec["resources"] = {**asdict(replace(resources, devices=None)), "devices": devices}
        weight = int(body.get("BlkioWeight") or 0) or None
        warnings: list[str] = []
        if record.state.status in ("running", "paused"):
            lift = body.get("PidsLimit") is not None and int(body["PidsLimit"]) <= 0
            warnings = await anyio.to_thread.run_sync(_apply, record, resources, lift, weight)
        elif weight and not _weight_supported():
            warnings.append(NO_BLKIO_WEIGHT)
        if NO_BLKIO_WEIGHT in warnings:
            hc["BlkioWeight"] = record.host_config.get("BlkioWeight") or 0
        record.host_config, record.spec = hc, spec
        table.records.save(record)
    table.emit(record, "update")
    return {"Warnings": warnings}
