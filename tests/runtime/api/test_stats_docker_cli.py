"""`docker stats`, `docker update` and `docker system df` through the real docker CLI against a private engine."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.runtime.api.containers_env import DOCKER, docker_env, env, eventually, out, private_engine, run

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]
__all__ = ["docker_env", "env", "private_engine"]

UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "kB": 10**3, "MB": 10**6, "GB": 10**9}


def size(text: str) -> float:
    match = re.fullmatch(r"([0-9.]+)\s*([A-Za-z]+)", text.strip())
    assert match, text
    return float(match.group(1)) * UNITS[match.group(2)]


def cgroup_file(pid: str, controller: str, name: str) -> str:
    """A file of the v1 cgroup (this host is hybrid) that the process is in."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            mount = next(m for m in Path("/sys/fs/cgroup").iterdir() if controller in m.name.split(","))
            return (mount / path.lstrip("/") / name).read_text().strip()
    raise AssertionError(f"no {controller} cgroup for {pid}")


def test_stats_streamed_prints_a_line_a_second(env: dict[str, str]) -> None:
    cid = out(env, "run", "-d", "busybox", "sleep", "1000").strip()
    try:
        assert DOCKER is not None
        streamed = subprocess.Popen([DOCKER, "stats", "--format", "{{.ID}} {{.MemUsage}}", cid], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            time.sleep(3.5)
        finally:
            streamed.kill()
            output = streamed.communicate(timeout=10)[0].decode()
        rows = [line for line in re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "\n", output).splitlines() if cid[:12] in line]
        assert len(rows) >= 2, output
        assert all(size(row.split()[1]) > 0 for row in rows)
    finally:
        run(env, "rm", "-f", cid)


def test_stats_no_stream_shows_the_memory_a_process_allocated(env: dict[str, str]) -> None:
    cid = out(env, "run", "-d", "busybox", "sh", "-c",
              "head -c 41943040 /dev/zero > /dev/shm/fill; echo filled; sleep 1000").strip()
    try:
        eventually(lambda: "filled" in out(env, "logs", cid))
        line = out(env, "stats", "--no-stream", "--format",
                   "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.NetIO}}|{{.PIDs}}", cid).strip()
        name, cpu, mem, net, pids = line.split("|")
        used, limit = mem.split(" / ")
        assert size(used) >= 38 * 2**20, line  # the 40 MiB in /dev/shm (tmpfs pages are not inactive_file)
        assert size(limit) > 100 * 2**20  # unlimited: the host's memory
        assert float(cpu.rstrip("%")) >= 0 and pids in ("1", "2")  # busybox sh may exec its last command
        assert " / " in net and name == out(env, "inspect", "-f", "{{.Name}}", cid).strip().lstrip("/")
        run(env, "update", "--memory", "200m", "--memory-swap", "200m", cid)
        mem = out(env, "stats", "--no-stream", "--format", "{{.MemUsage}}", cid).strip()
        assert size(mem.split(" / ")[1]) == 200 * 2**20
    finally:
        run(env, "rm", "-f", cid)


def test_stats_of_a_busy_container_shows_its_cpu(env: dict[str, str]) -> None:
    cid = out(env, "run", "-d", "busybox", "sh", "-c", "while :; do :; done").strip()
    try:
        cpu = out(env, "stats", "--no-stream", "--format", "{{.CPUPerc}}", cid).strip()
        assert float(cpu.rstrip("%")) > 3, cpu  # a whole CPU when the host is idle; the tests share it
    finally:
        run(env, "rm", "-f", cid)


def test_update_memory_then_a_process_over_the_new_limit_is_oom_killed(env: dict[str, str]) -> None:
    cid = out(env, "run", "-d", "busybox", "sleep", "1000").strip()
    try:
        fill = ["exec", cid, "sh", "-c", "x=$(head -c 62914560 /dev/zero | tr '\\0' a); echo ${#x}"]
        assert out(env, *fill).strip() == "62914560"  # fits before the update
        run(env, "update", "--memory", "24m", "--memory-swap", "24m", "--pids-limit", "50", "--cpus", "0.5", cid)
        assert out(env, "inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.PidsLimit}} "
                   "{{.HostConfig.NanoCpus}}", cid).split() == [str(24 * 2**20), str(24 * 2**20), "50", "500000000"]
        pid = out(env, "inspect", "-f", "{{.State.Pid}}", cid).strip()
        assert cgroup_file(pid, "cpu", "cpu.cfs_quota_us") == "50000"
        assert cgroup_file(pid, "pids", "pids.max") == "50"
        assert cgroup_file(pid, "memory", "memory.limit_in_bytes") == str(24 * 2**20)
        killed = run(env, *fill, check=False)
        assert killed.returncode == 137, killed
        assert out(env, "inspect", "-f", "{{.State.Status}}", cid).strip() == "running"
        too_much = run(env, "update", "--memory", "48m", cid, check=False)
        assert too_much.returncode != 0
        assert (f"Cannot update container {cid}: Memory limit should be smaller than already set memoryswap "
                "limit, update the memoryswap at the same time") in too_much.stderr.decode()
        quota = run(env, "update", "--cpu-quota", "20000", cid, check=False)
        assert b"CPU Quota cannot be updated as NanoCPUs has already been set" in quota.stderr
        run(env, "update", "--restart", "on-failure:3", cid)
        assert out(env, "inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}", cid).strip() == "on-failure"
    finally:
        run(env, "rm", "-f", cid)


def test_system_df(env: dict[str, str]) -> None:
    run(env, "volume", "create", "dfvol")
    cid = out(env, "run", "-d", "-v", "dfvol:/data", "busybox", "sh", "-c",
              "head -c 3000000 /dev/zero > /data/f; head -c 2000000 /dev/zero > /rw; echo written; sleep 1000").strip()
    try:
        eventually(lambda: "written" in out(env, "logs", cid))
        table = out(env, "system", "df")
        rows = {line.split()[0]: line.split() for line in table.splitlines()[1:]}
        assert rows["Images"][1:3] == ["1", "1"], table
        assert rows["Containers"][1:3] == ["1", "1"], table
        assert rows["Local"][2:4] == ["1", "1"], table  # "Local Volumes"
        verbose = out(env, "system", "df", "-v")
        assert "dfvol" in verbose and cid[:12] in verbose
        assert "Build Cache" in table
        assert size(rows["Containers"][3]) >= 2 * 10**6 and size(rows["Local"][4]) >= 3 * 10**6, table
    finally:
        run(env, "rm", "-f", cid)
        run(env, "volume", "rm", "dfvol")
