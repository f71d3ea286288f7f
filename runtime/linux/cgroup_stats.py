"""One sample of a container's usage from its cgroup files, on cgroup v1 and v2, and from /proc.

`read_v1` and `read_v2` take the leaf directories, so a test can point them
at files it wrote; `sample` picks by the layout of a live `Cgroup`. The
numbers are the kernel's: CPU in nanoseconds, memory in bytes, block I/O
per device. `system_cpu_ns` (/proc/stat) and `net_dev` (/proc/<pid>/net/dev,
read through the container's PID so it is the container's netns) complete
what Docker's stats JSON needs (`runtime/containers/stats.py` shapes it).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from runtime.linux.cgroup_files import keyed
from runtime.linux.cgroups import Cgroup

UNLIMITED = 2**62  # v1 prints 9223372036854771712 for "no limit"


@dataclass(frozen=True)
class BlkioEntry:
    major: int
    minor: int
    op: str
    value: int


@dataclass(frozen=True)
class Sample:
    cpu_total_ns: int = 0
    cpu_user_ns: int = 0
    cpu_system_ns: int = 0
    percpu_ns: tuple[int, ...] | None = None  # v1 only
    throttling: tuple[int, int, int] = (0, 0, 0)  # periods, throttled periods, throttled time (ns)
    memory_usage: int = 0
    memory_max_usage: int | None = None  # v1 only
    memory_failcnt: int | None = None  # v1 only
    memory_limit: int | None = None  # None: unlimited
    memory_stat: Mapping[str, int] = field(default_factory=dict)
    pids_current: int = 0
    pids_limit: int | None = None
    io_bytes: tuple[BlkioEntry, ...] = ()
    io_ops: tuple[BlkioEntry, ...] = ()


def _read(directory: str | None, name: str) -> str:
    if not directory:
        return ""
    try:
        with open(os.path.join(directory, name)) as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError, ProcessLookupError):
        return ""


def _number(text: str) -> int | None:
    text = text.strip()
    if not text.lstrip("-").isdigit():
        return None  # "max", empty
    value = int(text)
    return value if 0 <= value < UNLIMITED else None


def parse_v1_blkio(text: str) -> tuple[BlkioEntry, ...]:
    """`8:0 Read 4096` lines of blkio.throttle.*_recursive (the `Total` lines kept, as Docker does)."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and ":" in parts[0]:
            major, _, minor = parts[0].partition(":")
            with contextlib.suppress(ValueError):
                out.append(BlkioEntry(int(major), int(minor), parts[1], int(parts[2])))
    return tuple(out)


def parse_v2_io(text: str) -> tuple[tuple[BlkioEntry, ...], tuple[BlkioEntry, ...]]:
    """io.stat (`8:0 rbytes=1 wbytes=2 rios=3 wios=4 ...`) as Docker's bytes and ops entries (op read/write)."""
    octets: list[BlkioEntry] = []
    ops: list[BlkioEntry] = []
    for line in text.splitlines():
        device, *pairs = line.split()
        major, _, minor = device.partition(":")
        if not (major.isdigit() and minor.isdigit()):
            continue
        values = dict(p.partition("=")[::2] for p in pairs)
        for key, op, into in (("rbytes", "read", octets), ("wbytes", "write", octets),
                              ("rios", "read", ops), ("wios", "write", ops)):
            if values.get(key, "").isdigit():
                into.append(BlkioEntry(int(major), int(minor), op, int(values[key])))
    return tuple(octets), tuple(ops)


def read_v1(leaves: Mapping[str, str]) -> Sample:
    """A sample from v1 leaves (controller -> directory: cpuacct, cpu, memory, pids, blkio)."""
    cpuacct, memory = leaves.get("cpuacct"), leaves.get("memory")
    tick_ns = 10**9 // os.sysconf("SC_CLK_TCK")
    ticks = keyed(_read(cpuacct, "cpuacct.stat"))
    percpu = tuple(int(v) for v in _read(cpuacct, "cpuacct.usage_percpu").split() if v.isdigit())
    throttle = keyed(_read(leaves.get("cpu"), "cpu.stat"))
    blkio = leaves.get("blkio")
    return Sample(
        cpu_total_ns=_number(_read(cpuacct, "cpuacct.usage")) or 0,
        cpu_user_ns=ticks.get("user", 0) * tick_ns,
        cpu_system_ns=ticks.get("system", 0) * tick_ns,
        percpu_ns=percpu or None,
        throttling=(throttle.get("nr_periods", 0), throttle.get("nr_throttled", 0), throttle.get("throttled_time", 0)),
        memory_usage=_number(_read(memory, "memory.usage_in_bytes")) or 0,
        memory_max_usage=_number(_read(memory, "memory.max_usage_in_bytes")),
        memory_failcnt=_number(_read(memory, "memory.failcnt")),
        memory_limit=_number(_read(memory, "memory.limit_in_bytes")),
        memory_stat=keyed(_read(memory, "memory.stat")),
        pids_current=_number(_read(leaves.get("pids"), "pids.current")) or 0,
        pids_limit=_number(_read(leaves.get("pids"), "pids.max")),
        io_bytes=parse_v1_blkio(_read(blkio, "blkio.throttle.io_service_bytes_recursive")),
        io_ops=parse_v1_blkio(_read(blkio, "blkio.throttle.io_serviced_recursive")),
    )


def read_v2(leaf: str) -> Sample:
    """A sample from one v2 leaf directory."""
    cpu = keyed(_read(leaf, "cpu.stat"))
    octets, ops = parse_v2_io(_read(leaf, "io.stat"))
    return Sample(
        cpu_total_ns=cpu.get("usage_usec", 0) * 1000,
        cpu_user_ns=cpu.get("user_usec", 0) * 1000,
        cpu_system_ns=cpu.get("system_usec", 0) * 1000,
        throttling=(cpu.get("nr_periods", 0), cpu.get("nr_throttled", 0), cpu.get("throttled_usec", 0) * 1000),
        memory_usage=_number(_read(leaf, "memory.current")) or 0,
        memory_limit=_number(_read(leaf, "memory.max")),
        memory_stat=keyed(_read(leaf, "memory.stat")),
        pids_current=_number(_read(leaf, "pids.current")) or 0,
        pids_limit=_number(_read(leaf, "pids.max")),
        io_bytes=octets,
        io_ops=ops,
    )


def sample(cgroup: Cgroup) -> Sample:
    if cgroup.mounts.layout == "v2":
        assert cgroup.unified is not None
        return read_v2(cgroup.unified)
    return read_v1(cgroup.v1)


def parse_proc_stat(text: str, tick_ns: int) -> int:
    """The host's CPU time in nanoseconds: the first `cpu` line of /proc/stat (user..steal), as Docker sums it."""
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "cpu":
            return sum(int(v) for v in parts[1:8]) * tick_ns
    return 0


def system_cpu_ns() -> int:
    with open("/proc/stat") as f:
        return parse_proc_stat(f.read(), 10**9 // os.sysconf("SC_CLK_TCK"))


def online_cpus() -> int:
    return len(os.sched_getaffinity(0)) or os.cpu_count() or 1


def host_memory() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


NET_FIELDS = ("rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "tx_bytes", "tx_packets", "tx_errors", "tx_dropped")


def parse_net_dev(text: str) -> dict[str, dict[str, int]]:
    """/proc/net/dev as Docker's per-interface counters; `lo` left out, as Docker leaves it."""
    out: dict[str, dict[str, int]] = {}
    for line in text.splitlines()[2:]:
        name, sep, rest = line.partition(":")
        values = rest.split()
        if not sep or len(values) < 16 or name.strip() == "lo":
            continue
        picked = [int(values[i]) for i in (0, 1, 2, 3, 8, 9, 10, 11)]
        out[name.strip()] = dict(zip(NET_FIELDS, picked, strict=True))
    return out


def net_dev(pid: int) -> dict[str, dict[str, int]]:
    return parse_net_dev(_read(f"/proc/{pid}/net", "dev"))
