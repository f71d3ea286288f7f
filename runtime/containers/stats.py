"""`GET /containers/{id}/stats`: Docker's stats JSON from the container's cgroup and netns.

`render` (pure) shapes one `Sample` and the previous CPU figures into
Docker's StatsJSON; `collect` reads a running container (blocking: run it
in a thread). As dockerd: the stream sends one object a second, its first
with an empty `precpu_stats`; `stream=false` primes the CPU figures with a
first sample a second earlier, unless `one-shot=true`; a container that is
not running answers zeros.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runtime.linux import cgroup_place, cgroup_stats
from runtime.linux.cgroup_stats import BlkioEntry, Sample
from runtime.linux.cgroups import CgroupError
from runtime.spec import spec_from_dict

if TYPE_CHECKING:
    from runtime.containers.records import Record

ZERO_TIME = "0001-01-01T00:00:00Z"
INTERVAL = 1.0  # seconds between streamed objects, and between the two samples of stream=false


@dataclass(frozen=True)
class Reading:
    """One look at a running container: its cgroup sample and what the host says at that moment."""

    read: str
    sample: Sample
    system_cpu_ns: int
    online_cpus: int
    host_memory: int
    networks: dict[str, dict[str, int]] | None  # None: the host's network (or none to read)


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def collect(record: Record) -> Reading | None:
    """A reading of `record`, or None when it is not running (blocking)."""
    if record.state.status not in ("running", "paused") or not record.state.pid:
        return None
    spec = spec_from_dict(record.spec)
    try:
        cgroup = cgroup_place.open_cgroup(spec)  # under CgroupParent when it names one
    except CgroupError:
        return None
    own_net = "net" in spec.namespaces or any(name == "net" for name, _ in spec.join_namespaces)
    return Reading(
        read=now(),
        sample=cgroup_stats.sample(cgroup),
        system_cpu_ns=cgroup_stats.system_cpu_ns(),
        online_cpus=cgroup_stats.online_cpus(),
        host_memory=cgroup_stats.host_memory(),
        networks=cgroup_stats.net_dev(record.state.pid) if own_net else None,
    )


def _cpu(reading: Reading | None) -> dict[str, Any]:
    if reading is None:
        return {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
                "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
    s = reading.sample
    usage: dict[str, Any] = {"total_usage": s.cpu_total_ns, "usage_in_kernelmode": s.cpu_system_ns,
                             "usage_in_usermode": s.cpu_user_ns}
    if s.percpu_ns is not None:
        usage["percpu_usage"] = list(s.percpu_ns[:reading.online_cpus])
    periods, throttled, throttled_ns = s.throttling
    return {"cpu_usage": usage, "system_cpu_usage": reading.system_cpu_ns, "online_cpus": reading.online_cpus,
            "throttling_data": {"periods": periods, "throttled_periods": throttled, "throttled_time": throttled_ns}}


def _blkio(entries: tuple[BlkioEntry, ...]) -> list[dict[str, Any]] | None:
    if not entries:
        return None
    return [{"major": e.major, "minor": e.minor, "op": e.op, "value": e.value} for e in entries]


def _memory(reading: Reading) -> dict[str, Any]:
    s = reading.sample
    out: dict[str, Any] = {"usage": s.memory_usage}
    if s.memory_max_usage is not None:
        out["max_usage"] = s.memory_max_usage
    out["stats"] = dict(s.memory_stat)
    if s.memory_failcnt is not None:
        out["failcnt"] = s.memory_failcnt
    limit = reading.host_memory
    if s.memory_limit is not None and (not limit or s.memory_limit < limit):
        limit = s.memory_limit
    out["limit"] = limit
    return out


def render(record: Record, reading: Reading | None, previous: Reading | None) -> dict[str, Any]:
    """Docker's StatsJSON for one reading (None: not running, all zeros) and the one before it."""
    out: dict[str, Any] = {
        "read": reading.read if reading else ZERO_TIME,
        "preread": previous.read if previous else ZERO_TIME,
        "pids_stats": {},
        "blkio_stats": {key: None for key in (
            "io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
            "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive",
            "io_time_recursive", "sectors_recursive")},
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": _cpu(reading),
        "precpu_stats": _cpu(previous),
        "memory_stats": {},
        "name": "/" + record.name,
        "id": record.id,
    }
    if reading is None:
        return out
    s = reading.sample
    out["pids_stats"] = {"current": s.pids_current, **({"limit": s.pids_limit} if s.pids_limit else {})}
    out["blkio_stats"]["io_service_bytes_recursive"] = _blkio(s.io_bytes)
    out["blkio_stats"]["io_serviced_recursive"] = _blkio(s.io_ops)
    out["memory_stats"] = _memory(reading)
    if reading.networks is not None:
        out["networks"] = reading.networks
    return out
