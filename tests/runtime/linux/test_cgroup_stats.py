"""The cgroup v1 and v2 stats readers on files the test writes, /proc parsing, and the update writes."""

from __future__ import annotations

import os
from pathlib import Path

from runtime.linux import cgroup_stats, cgroup_update
from runtime.linux.cgroup_stats import BlkioEntry
from runtime.spec import Resources


def write(leaf: Path, files: dict[str, str]) -> str:
    leaf.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (leaf / name).write_text(text)
    return str(leaf)


def test_v2_leaf(tmp_path: Path) -> None:
    leaf = write(tmp_path / "v2", {
        "cpu.stat": "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\nnr_periods 7\nnr_throttled 2\n"
                    "throttled_usec 30\n",
        "memory.current": "52428800\n",
        "memory.max": "max\n",
        "memory.stat": "anon 41943040\nfile 8388608\ninactive_file 4194304\n",
        "pids.current": "3\n",
        "pids.max": "64\n",
        "io.stat": "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n"
                   "253:1 rbytes=0 wbytes=512 rios=0 wios=1\n",
    })
    s = cgroup_stats.read_v2(leaf)
    assert (s.cpu_total_ns, s.cpu_user_ns, s.cpu_system_ns) == (2_500_000, 2_000_000, 500_000)
    assert s.throttling == (7, 2, 30_000) and s.percpu_ns is None
    assert s.memory_usage == 52428800 and s.memory_limit is None and s.memory_max_usage is None
    assert s.memory_stat["inactive_file"] == 4194304
    assert (s.pids_current, s.pids_limit) == (3, 64)
    assert s.io_bytes == (BlkioEntry(8, 0, "read", 4096), BlkioEntry(8, 0, "write", 8192),
                          BlkioEntry(253, 1, "read", 0), BlkioEntry(253, 1, "write", 512))
    assert s.io_ops[:2] == (BlkioEntry(8, 0, "read", 1), BlkioEntry(8, 0, "write", 2))


def test_v2_leaf_with_limits_and_missing_files(tmp_path: Path) -> None:
    leaf = write(tmp_path / "v2", {"memory.max": "33554432\n", "pids.max": "max\n"})
    s = cgroup_stats.read_v2(leaf)
    assert s.memory_limit == 33554432 and s.pids_limit is None and s.cpu_total_ns == 0 and s.io_bytes == ()


def test_v1_leaves(tmp_path: Path) -> None:
    leaves = {
        "cpuacct": write(tmp_path / "cpuacct", {"cpuacct.usage": "123456789\n", "cpuacct.usage_percpu": "100 200 \n",
                                                "cpuacct.stat": "user 3\nsystem 1\n"}),
        "cpu": write(tmp_path / "cpu", {"cpu.stat": "nr_periods 4\nnr_throttled 1\nthrottled_time 999\n"}),
        "memory": write(tmp_path / "memory", {
            "memory.usage_in_bytes": "1000\n", "memory.max_usage_in_bytes": "2000\n", "memory.failcnt": "0\n",
            "memory.limit_in_bytes": "9223372036854771712\n", "memory.stat": "cache 10\ntotal_inactive_file 5\n"}),
        "pids": write(tmp_path / "pids", {"pids.current": "2\n", "pids.max": "max\n"}),
        "blkio": write(tmp_path / "blkio", {
            "blkio.throttle.io_service_bytes_recursive": "8:0 Read 4096\n8:0 Write 0\n8:0 Total 4096\nTotal 4096\n",
            "blkio.throttle.io_serviced_recursive": "8:0 Read 1\n"}),
    }
    s = cgroup_stats.read_v1(leaves)
    tick = 10**9 // os.sysconf("SC_CLK_TCK")
    assert (s.cpu_total_ns, s.cpu_user_ns, s.cpu_system_ns) == (123456789, 3 * tick, tick)
    assert s.percpu_ns == (100, 200) and s.throttling == (4, 1, 999)
    assert (s.memory_usage, s.memory_max_usage, s.memory_failcnt, s.memory_limit) == (1000, 2000, 0, None)
    assert s.memory_stat == {"cache": 10, "total_inactive_file": 5}
    assert (s.pids_current, s.pids_limit) == (2, None)
    assert s.io_bytes == (BlkioEntry(8, 0, "Read", 4096), BlkioEntry(8, 0, "Write", 0), BlkioEntry(8, 0, "Total", 4096))
    assert s.io_ops == (BlkioEntry(8, 0, "Read", 1),)


def test_proc_stat_and_net_dev() -> None:
    stat = "cpu  10 1 5 100 2 0 3 4 0 0\ncpu0 5 0 2 50 1 0 1 2 0 0\n"
    assert cgroup_stats.parse_proc_stat(stat, 10_000_000) == (10 + 1 + 5 + 100 + 2 + 0 + 3) * 10_000_000
    dev = ("Inter-|   Receive                                                |  Transmit\n"
           " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls "
           "carrier compressed\n"
           "    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0 "
           "      0          0\n"
           "  eth0:    5000      40    1    2    0     0          0         0     3000      30    3    4    0     0 "
           "      0          0\n")
    assert cgroup_stats.parse_net_dev(dev) == {"eth0": {
        "rx_bytes": 5000, "rx_packets": 40, "rx_errors": 1, "rx_dropped": 2,
        "tx_bytes": 3000, "tx_packets": 30, "tx_errors": 3, "tx_dropped": 4}}


def test_update_writes_lift_the_pids_limit_and_keep_v2_spelling() -> None:
    v1 = cgroup_update.update_writes(Resources(memory=2**25, memory_swap=2**26), "v1-hybrid", lift_pids=True)
    assert ("memory", "memory.limit_in_bytes", str(2**25)) in v1 and ("pids", "pids.max", "max") in v1
    v2 = cgroup_update.update_writes(Resources(memory=2**25, memory_swap=2**26, cpu_quota=50000, cpu_period=100000),
                                     "v2", lift_pids=False)
    assert ("unified", "memory.max", str(2**25)) in v2 and ("unified", "memory.swap.max", str(2**25)) in v2
    assert ("unified", "cpu.max", "50000 100000") in v2 and not any(f == "pids.max" for _, f, _ in v2)
