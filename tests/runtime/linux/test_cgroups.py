"""cgroups: layout detection and limit plans (pure), and real leaves on this kernel (root)."""

from __future__ import annotations

import os
import secrets
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.linux import cgroups
from runtime.linux.cgroups import UNIFIED, Cgroup, CgroupError, Mounts, cpu_weight, limit_writes, parse_mountinfo
from runtime.spec import Resources

HYBRID = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate
"""
PURE_V2 = """\
22 1 0:21 / / rw - ext4 /dev/vda rw
30 22 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
"""


def test_hybrid_layout_maps_every_controller() -> None:
    m = parse_mountinfo(HYBRID)
    assert m.layout == "v1-hybrid"
    assert m.unified == "/sys/fs/cgroup/unified"
    assert m.v1 == {"cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
                    "memory": "/sys/fs/cgroup/memory", "pids": "/sys/fs/cgroup/pids"}
    cg = Cgroup("pycx", "c1", m)  # co-mounted cpu,cpuacct: one leaf
    assert cg.dirs() == ["/sys/fs/cgroup/cpu,cpuacct/pycx/c1", "/sys/fs/cgroup/memory/pycx/c1",
                         "/sys/fs/cgroup/pids/pycx/c1", "/sys/fs/cgroup/unified/pycx/c1"]


def test_pure_v2_layout() -> None:
    m = parse_mountinfo(PURE_V2)
    assert (m.layout, m.v1, m.unified) == ("v2", {}, "/sys/fs/cgroup")
    assert Cgroup("pycx", "c1", m).dirs() == ["/sys/fs/cgroup/pycx/c1"]


def test_no_cgroup_fs_is_an_error() -> None:
    with pytest.raises(CgroupError, match="no cgroup"):
        parse_mountinfo("22 1 0:21 / / rw - ext4 /dev/vda rw\n")


def test_this_machine_layout() -> None:
    assert cgroups.layout() in ("v1-hybrid", "v2")


@pytest.mark.parametrize(("shares", "weight"), [(2, 1), (1024, 100), (262144, 10000), (512, 59), (2048, 174), (0, 1)])
def test_cpu_weight(shares: int, weight: int) -> None:
    assert cpu_weight(shares) == weight


FULL = Resources(memory=64 << 20, memory_swap=128 << 20, memory_reservation=32 << 20, cpu_quota=50000,
                 cpu_period=100000, cpu_shares=512, cpuset_cpus="0", cpuset_mems="0", pids_limit=50)


def test_v1_writes() -> None:
    assert limit_writes(FULL, "v1-hybrid") == [
        ("memory", "memory.limit_in_bytes", "67108864"),
        ("memory", "memory.memsw.limit_in_bytes", "134217728"),
        ("memory", "memory.soft_limit_in_bytes", "33554432"),
        ("cpu", "cpu.cfs_period_us", "100000"),
        ("cpu", "cpu.cfs_quota_us", "50000"),
        ("cpu", "cpu.shares", "512"),
        ("cpuset", "cpuset.cpus", "0"),
        ("cpuset", "cpuset.mems", "0"),
        ("pids", "pids.max", "50"),
    ]


def test_v2_writes() -> None:
    assert limit_writes(FULL, "v2") == [
        (UNIFIED, "memory.max", "67108864"),
        (UNIFIED, "memory.swap.max", "67108864"),  # v2 limits swap alone: memory+swap minus memory
        (UNIFIED, "memory.low", "33554432"),
        (UNIFIED, "cpu.max", "50000 100000"),
        (UNIFIED, "cpu.weight", "59"),
        (UNIFIED, "cpuset.cpus", "0"),
        (UNIFIED, "cpuset.mems", "0"),
        (UNIFIED, "pids.max", "50"),
    ]


def test_unlimited_values() -> None:
    r = Resources(memory=1 << 30, memory_swap=-1, cpu_quota=-1, cpu_period=50000, pids_limit=-1)
    assert (UNIFIED, "memory.swap.max", "max") in limit_writes(r, "v2")
    assert (UNIFIED, "cpu.max", "max 50000") in limit_writes(r, "v2")
    assert ("memory", "memory.memsw.limit_in_bytes", "-1") in limit_writes(r, "v1-hybrid")
    assert ("pids", "pids.max", "max") in limit_writes(r, "v1-hybrid")
    assert limit_writes(Resources(), "v1-hybrid") == limit_writes(Resources(), "v2") == []


@pytest.mark.parametrize("bad", ["", "a/b", "..", "."])
def test_bad_names(bad: str) -> None:
    with pytest.raises(ValueError):
        Cgroup("pycx", bad, parse_mountinfo(HYBRID))


# -- on the real kernel ------------------------------------------------------------------------


@pytest.fixture
def prefix() -> Iterator[str]:
    name = "pyctest" + secrets.token_hex(3)
    yield name
    left = Cgroup.cleanup_prefix(name)
    assert left == []
    assert not list(Path("/sys/fs/cgroup").glob(f"*/{name}")) + list(Path("/sys/fs/cgroup").glob(name))


def _child(run: str = "sleep") -> tuple[int, int]:
    """A forked child that waits for a byte on a pipe, then runs `run`; returns (pid, write end)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            os.close(write_end)
            if not os.read(read_end, 1):
                os._exit(3)
            if run == "allocate":
                _data = b"x" * (64 << 20)  # well beyond the 8 MiB limit
            elif run == "fork":
                code = _fork_many(10)
            elif run == "sleep":
                time.sleep(30)
        finally:
            os._exit(code)
    os.close(read_end)
    return pid, write_end


def _fork_many(count: int) -> int:
    children = []
    for _ in range(count):
        try:
            pid = os.fork()
        except BlockingIOError:  # EAGAIN: pids.max reached
            break
        if pid == 0:
            time.sleep(5)
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return len(children)


def _start(write_end: int) -> None:
    os.write(write_end, b"g")
    os.close(write_end)


def _wait(pid: int) -> int:
    return os.waitpid(pid, 0)[1]


def _files(cg: Cgroup) -> dict[str, str]:
    out = {}
    for d in cg.dirs():
        for name in ("memory.limit_in_bytes", "cpu.cfs_quota_us", "cpu.shares", "pids.max", "cpuset.cpus",
                     "memory.max", "cpu.max"):
            if os.path.exists(os.path.join(d, name)):
                out[name] = Path(d, name).read_text().strip()
    return out


@pytest.mark.root
def test_create_writes_limits_and_join_moves_a_child(prefix: str) -> None:
    cg = Cgroup.create(prefix, "c1", Resources(memory=64 << 20, cpu_quota=50000, cpu_period=100000,
                                               cpu_shares=512, pids_limit=40))
    try:
        files = _files(cg)
        if cgroups.layout() == "v1-hybrid":
            assert files["memory.limit_in_bytes"] == str(64 << 20)
            assert files["cpu.cfs_quota_us"] == "50000" and files["cpu.shares"] == "512"
            assert files["cpuset.cpus"]  # copied from the parent, not empty
        else:
            assert files["memory.max"] == str(64 << 20) and files["cpu.max"] == "50000 100000"
        assert files["pids.max"] == "40"
        pid, gate = _child()
        cg.join(pid)
        assert cg.pids() == [pid]
        for d in cg.dirs():
            assert Path(d, "cgroup.procs").read_text().split() == [str(pid)]
        stats = cg.stats()
        assert stats["pids"]["current"] == 1 and stats["pids"]["limit"] == 40
        assert stats["memory"]["limit"] == 64 << 20
        assert cg.kill() is True
        assert cg.pids() == []
        os.close(gate)
        assert os.WTERMSIG(_wait(pid)) == signal.SIGKILL
        assert not cg.oom_killed()
    finally:
        cg.remove()
    assert not any(os.path.exists(d) for d in cg.dirs())
    cg.remove()  # idempotent


@pytest.mark.root
@pytest.mark.timeout(60)
def test_oom_kill_is_reported(prefix: str) -> None:
    cg = Cgroup.create(prefix, "oom", Resources(memory=8 << 20, memory_swap=8 << 20))
    pid, gate = _child("allocate")
    cg.join(pid)
    _start(gate)
    status = _wait(pid)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert cg.oom_killed()
    cg.remove()


@pytest.mark.root
@pytest.mark.timeout(60)
def test_pids_max_stops_forks(prefix: str) -> None:
    cg = Cgroup.create(prefix, "pids", Resources(pids_limit=3))
    pid, gate = _child("fork")
    cg.join(pid)
    _start(gate)
    assert os.waitstatus_to_exitcode(_wait(pid)) == 2  # itself + 2 children
    cg.remove()


@pytest.mark.root
@pytest.mark.timeout(60)
def test_freeze_thaw_and_kill_of_many(prefix: str) -> None:
    cg = Cgroup.create(prefix, "many", Resources())
    children = [_child() for _ in range(3)]
    for pid, _gate in children:
        cg.join(pid)
    cg.freeze()
    assert sorted(cg.pids()) == sorted(pid for pid, _ in children)
    cg.thaw()
    assert cg.kill()
    for pid, gate in children:
        os.close(gate)
        assert os.WTERMSIG(_wait(pid)) == signal.SIGKILL
    cg.remove()


@pytest.mark.root
def test_create_recreates_an_empty_leaf_and_refuses_a_busy_one(prefix: str) -> None:
    first = Cgroup.create(prefix, "c", Resources(pids_limit=10))
    again = Cgroup.create(prefix, "c", Resources(pids_limit=20))  # fresh: a killed v2 leaf is poisoned
    assert _files(again)["pids.max"] == "20"
    pid, gate = _child()
    try:
        again.join(pid)
        with pytest.raises(CgroupError, match="has processes"):
            Cgroup.create(prefix, "c", Resources())
        assert Cgroup.open(prefix, "c").pids() == [pid]
    finally:
        first.kill()
        os.close(gate)
        _wait(pid)
    first.remove()


@pytest.mark.root
def test_open_of_a_missing_leaf(prefix: str) -> None:
    with pytest.raises(CgroupError):
        Cgroup.open(prefix, "nothing")


@pytest.mark.root
def test_clone_fd_points_at_the_v2_leaf(prefix: str) -> None:
    cg = Cgroup.create(prefix, "fd", Resources())
    fd = cg.fd_for_clone()
    try:
        if cg.unified is None:
            assert fd is None
        else:
            assert fd is not None
            assert os.path.samestat(os.fstat(fd), os.stat(cg.unified))
    finally:
        if fd is not None:
            os.close(fd)
    cg.remove()


@pytest.mark.root
def test_cleanup_prefix_kills_and_removes_leftovers(prefix: str) -> None:
    Cgroup.create(prefix, "a", Resources(memory=32 << 20))
    b = Cgroup.create(prefix, "b", Resources())
    pid, gate = _child()
    b.join(pid)
    assert Cgroup.cleanup_prefix(prefix) == []
    os.close(gate)
    assert os.WTERMSIG(_wait(pid)) == signal.SIGKILL
    assert not any(os.path.exists(os.path.dirname(d)) for d in b.dirs())


@pytest.mark.root
def test_failed_create_leaves_nothing(prefix: str) -> None:
    m = cgroups.current_mounts()
    if m.layout != "v1-hybrid":
        pytest.skip(f"this host has no v1 cpuset controller (cgroup layout {m.layout})")
    with pytest.raises(CgroupError, match=r"cpuset\.cpus"):
        Cgroup.create(prefix, "bad", Resources(cpuset_cpus="999"), mounts=Mounts(m.layout, m.v1, m.unified))
    assert not any(os.path.exists(d) for d in Cgroup(prefix, "bad", m).dirs())


@pytest.mark.root
@pytest.mark.timeout(60)
def test_v2_code_path_on_the_unified_mount(prefix: str) -> None:
    """The pure-v2 paths (membership, cgroup.freeze, cgroup.kill) work on the unified hierarchy alone."""
    m = cgroups.current_mounts()
    if m.unified is None:
        pytest.skip("no cgroup2 mount")
    v2_only = Mounts("v2", {}, m.unified)
    cg = Cgroup.create(prefix, "v2", Resources(), mounts=v2_only)
    assert cg.dirs() == [os.path.join(m.unified, prefix, "v2")]
    pid, gate = _child()
    cg.join(pid)
    cg.freeze()
    assert "frozen 1" in Path(cg.dirs()[0], "cgroup.events").read_text()
    cg.thaw()
    assert Cgroup.open(prefix, "v2", mounts=v2_only).pids() == [pid]
    assert not cg.oom_killed()
    assert cg.stats()["pids"]["current"] in (None, 1)
    assert cg.kill()
    os.close(gate)
    assert os.WTERMSIG(_wait(pid)) == signal.SIGKILL
    assert Cgroup.cleanup_prefix(prefix, mounts=v2_only) == []
