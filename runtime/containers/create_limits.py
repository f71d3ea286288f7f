"""The HostConfig limits dockerd checks against what the kernel offers: block I/O weights and
throttles, memory swappiness, real-time CPU time, and device requests (GPUs).

Like dockerd's verifyPlatformContainerResources: a limit the host cannot apply is discarded
with dockerd's warning where dockerd discards it (block I/O, swappiness), refused with its
error where dockerd refuses it (real-time CPU); values out of range are refused with its
messages. Device paths become `major:minor` through `device_of` (a stat, at the edge).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from typing import Any

from runtime.errors import bad_request
from runtime.linux.cgroup_extra import Support

_THROTTLES = (("BlkioDeviceReadBps", "read_bps", "BPS Block I/O read limit", "BPS read"),
              ("BlkioDeviceWriteBps", "write_bps", "BPS Block I/O write limit", "BPS write"),
              ("BlkioDeviceReadIOps", "read_iops", "IOPS Block read limit", "IOPS read"),
              ("BlkioDeviceWriteIOps", "write_iops", "IOPS Block write limit", "IOPS write"))


def cgroup_parent(value: Any) -> str:
    """`CgroupParent` as a path below each hierarchy's root (cgroupfs: `/a/b` and `a/b` alike)."""
    parts = [p for p in str(value or "").split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise bad_request(f"invalid cgroup parent {value!r}: it must not contain . or .. segments")
    return "/".join(parts)


def block_device(path: str) -> str:
    """`/dev/vda` -> "254:0"; a 400 when it is not a block device, as dockerd's start fails."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise bad_request(f"stat {path}: {exc.strerror.lower() if exc.strerror else exc}") from None
    if not stat.S_ISBLK(st.st_mode):
        raise bad_request(f"{path} is not a block device")
    return f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"


def extra_limits(hc: Mapping[str, Any], support: Support,
                 device_of: Callable[[str], str] = block_device,
                 ) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """(Resources fields, warnings, HostConfig fields reset) for the limits of `hc` beyond memory, CPU
    quota and pids: what dockerd discards it also clears in the stored HostConfig."""
    out: dict[str, Any] = {}
    warnings: list[str] = []
    reset: dict[str, Any] = {}
    if hc.get("DeviceRequests"):
        capabilities = [list(c) for r in hc["DeviceRequests"] for c in (r.get("Capabilities") or [[]])]
        driver = str(hc["DeviceRequests"][0].get("Driver") or "")
        raise no_device_driver(driver, capabilities)
    swappiness = hc.get("MemorySwappiness")
    if swappiness is not None and int(swappiness) != -1:
        if not support.swappiness:
            warnings.append("Your kernel does not support memory swappiness capabilities or the cgroup is not "
                            "mounted. Memory swappiness discarded.")
            reset["MemorySwappiness"] = None
        elif not 0 <= int(swappiness) <= 100:
            raise bad_request(f"Invalid value: {int(swappiness)}, valid memory swappiness range is 0-100")
        else:
            out["memory_swappiness"] = int(swappiness)
    weight = int(hc.get("BlkioWeight") or 0)
    if weight and not support.blkio_weight:
        warnings.append("Your kernel does not support Block I/O weight or the cgroup is not mounted. "
                        "Weight discarded.")
        reset["BlkioWeight"] = 0
    elif weight:
        if not 10 <= weight <= 1000:
            raise bad_request("Range of blkio weight is from 10 to 1000")
        out["blkio_weight"] = weight
    devices = hc.get("BlkioWeightDevice") or []
    if devices and not support.blkio_weight_device:
        warnings.append("Your kernel does not support Block I/O weight_device or the cgroup is not mounted. "
                        "Weight-device discarded.")
        reset["BlkioWeightDevice"] = []
    elif devices:
        out["blkio_weight_devices"] = tuple((device_of(str(d["Path"])), int(d["Weight"])) for d in devices)
    throttles = []
    for key, kind, what, short in _THROTTLES:
        items = hc.get(key) or []
        if items and not support.blkio_throttle:
            warnings.append(f"Your kernel does not support {what} or the cgroup is not mounted. "
                            f"Block I/O {short} limit discarded.")
            reset[key] = []
            continue
        throttles += [(kind, device_of(str(d["Path"])), int(d["Rate"])) for d in items]
    if throttles:
        out["blkio_throttle"] = tuple(throttles)
    period, runtime = int(hc.get("CpuRealtimePeriod") or 0), int(hc.get("CpuRealtimeRuntime") or 0)
    if period > 0 and not support.cpu_rt:
        raise bad_request("Your kernel does not support cgroup cpu real-time period")
    if runtime > 0 and not support.cpu_rt:
        raise bad_request("Your kernel does not support cgroup cpu real-time runtime")
    if period and runtime and runtime > period:
        raise bad_request("cpu real-time runtime cannot be higher than cpu real-time period")
    if period > 0:
        out["cpu_rt_period"] = period
    if runtime > 0:
        out["cpu_rt_runtime"] = runtime
    return out, warnings, reset


def no_device_driver(driver: str, capabilities: list[list[str]]) -> Exception:
    """dockerd's error for a device request no driver serves (there is no GPU runtime here)."""
    listed = " ".join("[" + " ".join(c) + "]" for c in capabilities)
    return bad_request(f'could not select device driver "{driver}" with capabilities: [{listed}]')
