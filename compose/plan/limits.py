"""The cgroup limits part of a container's `HostConfig` (memory, CPU, pids, block I/O, ulimits, devices).

Plain values of the service passed on in the engine's names; `deploy.resources`
wins over the service-level keys, as in Docker Compose. Unset ones are None:
the body leaves them out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compose.loader.units import parse_duration


def _ulimits(value: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name, limit in sorted(value.items()):
        soft, hard = (limit["soft"], limit["hard"]) if isinstance(limit, Mapping) else (limit, limit)
        out.append({"Name": name, "Soft": int(soft), "Hard": int(hard)})
    return out


def _microseconds(value: Any) -> int | None:
    if value is None:
        return None
    return int(value) if isinstance(value, int | float) else parse_duration(value) // 1000


def _blkio(cfg: Mapping[str, Any]) -> dict[str, Any]:
    blkio = cfg.get("blkio_config") or {}
    out: dict[str, Any] = {"BlkioWeight": blkio.get("weight")}
    if blkio.get("weight_device"):
        out["BlkioWeightDevice"] = [{"Path": d["path"], "Weight": d["weight"]} for d in blkio["weight_device"]]
    for key, api in (("device_read_bps", "BlkioDeviceReadBps"), ("device_write_bps", "BlkioDeviceWriteBps"),
                     ("device_read_iops", "BlkioDeviceReadIOps"), ("device_write_iops", "BlkioDeviceWriteIOps")):
        if blkio.get(key):
            out[api] = [{"Path": d["path"], "Rate": int(d["rate"])} for d in blkio[key]]
    return out


def resources(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The Resources part of HostConfig; `deploy.resources` wins over the service-level keys."""
    deploy = (cfg.get("deploy") or {}).get("resources") or {}
    limits, reservations = deploy.get("limits") or {}, deploy.get("reservations") or {}
    cpus = limits.get("cpus", cfg.get("cpus"))
    out: dict[str, Any] = {
        "Memory": limits.get("memory", cfg.get("mem_limit")),
        "MemoryReservation": reservations.get("memory", cfg.get("mem_reservation")),
        "MemorySwap": cfg.get("memswap_limit"),
        "MemorySwappiness": cfg.get("mem_swappiness"),
        "NanoCpus": round(float(cpus) * 1e9) if cpus else None,
        "CpuShares": cfg.get("cpu_shares"),
        "CpuPeriod": cfg.get("cpu_period"),
        "CpuQuota": cfg.get("cpu_quota"),
        "CpuRealtimePeriod": _microseconds(cfg.get("cpu_rt_period")),
        "CpuRealtimeRuntime": _microseconds(cfg.get("cpu_rt_runtime")),
        "CpusetCpus": cfg.get("cpuset"),
        "CpuCount": cfg.get("cpu_count"),
        "CpuPercent": cfg.get("cpu_percent"),
        "PidsLimit": limits.get("pids", cfg.get("pids_limit")),
        "OomKillDisable": cfg.get("oom_kill_disable"),
        "CgroupParent": cfg.get("cgroup_parent"),
        "DeviceCgroupRules": cfg.get("device_cgroup_rules"),
        **_blkio(cfg),
    }
    if cfg.get("ulimits"):
        out["Ulimits"] = _ulimits(cfg["ulimits"])
    if cfg.get("devices"):
        out["Devices"] = [
            {"PathOnHost": d["source"], "PathInContainer": d.get("target") or d["source"],
             "CgroupPermissions": d.get("permissions") or "rwm"}
            for d in cfg["devices"]
        ]
    return out
