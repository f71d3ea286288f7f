"""HostConfig limits applied for real, read back from inside a running container with the docker CLI:
block I/O throttles and weights, memory swappiness, real-time CPU time; dockerd's warnings for what
the kernel lacks and its refusals (GPU device requests, out-of-range values)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import docker as docker_py
import pytest

from runtime.linux import cgroup_extra, cgroups
from tests.engine_fixture import EngineHandle
from tests.runtime.api.containers_env import docker_env, eventually, inspect, private_engine
from tests.runtime.api.containers_env import run as docker

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]
__all__ = ["docker_env", "private_engine"]
SUPPORT = cgroup_extra.support()
V1 = not os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def inside(env: dict[str, str], script: str, *options: str) -> tuple[str, str]:
    result = docker(env, "run", "--rm", *options, "busybox", "sh", "-c", script, check=False)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode(), result.stderr.decode()


def refused(env: dict[str, str], *options: str) -> str:
    result = docker(env, "run", "--rm", *options, "busybox", "true", check=False)
    assert result.returncode != 0  # 125, or 127 when the message says "no such file or directory"
    assert b"Error response from daemon" in result.stderr
    return result.stderr.decode()


def block_device() -> tuple[str, str]:
    for entry in sorted(Path("/sys/block").iterdir()):
        node = Path("/dev") / entry.name
        if node.exists() and not entry.name.startswith(("loop", "ram")):
            return str(node), (entry / "dev").read_text().strip()
    pytest.skip("the machine has no block device")


def test_block_io_throttles(docker_env: dict[str, str]) -> None:
    if not V1:
        pytest.skip("the cgroup v1 blkio files are read here; the v2 io.max path is not on this machine")
    node, numbers = block_device()
    script = "cd /sys/fs/cgroup/blkio && cat blkio.throttle.read_bps_device blkio.throttle.write_bps_device " \
             "blkio.throttle.read_iops_device blkio.throttle.write_iops_device"
    out, _ = inside(docker_env, script, "--device-read-bps", f"{node}:1mb", "--device-write-bps", f"{node}:2mb",
                    "--device-read-iops", f"{node}:100", "--device-write-iops", f"{node}:200")
    assert out.split("\n")[:4] == [f"{numbers} 1048576", f"{numbers} 2097152", f"{numbers} 100", f"{numbers} 200"]
    assert "/dev/nosuch" in refused(docker_env, "--device-read-bps", "/dev/nosuch:1mb")


def test_block_io_weight(docker_env: dict[str, str]) -> None:
    node, numbers = block_device()
    if SUPPORT.blkio_weight:
        out, _ = inside(docker_env, "cat /sys/fs/cgroup/blkio/blkio.weight /sys/fs/cgroup/blkio/blkio.bfq.weight "
                                    "2>/dev/null; true", "--blkio-weight", "300")
        assert "300" in out
    else:  # dockerd discards it with this warning, which the docker CLI prints
        _, err = inside(docker_env, "true", "--blkio-weight", "300")
        assert "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded." in err
        docker(docker_env, "create", "--name", "weighted", "--blkio-weight", "300", "busybox")
        try:
            assert inspect(docker_env, "weighted")["HostConfig"]["BlkioWeight"] == 0  # type: ignore[index]
        finally:
            docker(docker_env, "rm", "weighted")
    if not SUPPORT.blkio_weight_device:
        _, err = inside(docker_env, "true", "--blkio-weight-device", f"{node}:300")
        assert "Block I/O weight_device or the cgroup is not mounted. Weight-device discarded." in err
    if SUPPORT.blkio_weight:
        assert "Range of blkio weight is from 10 to 1000" in refused(docker_env, "--blkio-weight", "5")
    del numbers


def test_memory_swappiness(docker_env: dict[str, str], private_engine: EngineHandle) -> None:
    if not SUPPORT.swappiness:
        _, err = inside(docker_env, "true", "--memory-swappiness", "10")
        assert "Memory swappiness discarded." in err
        return
    out, _ = inside(docker_env, "cat /sys/fs/cgroup/memory/memory.swappiness", "--memory-swappiness", "10")
    assert out.strip() == "10"
    client = docker_py.APIClient(base_url=private_engine.host)
    try:
        with pytest.raises(docker_py.errors.APIError) as failed:  # the docker CLI checks the range itself
            client.create_container("busybox", host_config={"MemorySwappiness": 101})
    finally:
        client.close()
    assert failed.value.status_code == 400
    assert failed.value.explanation == "Invalid value: 101, valid memory swappiness range is 0-100"


def test_cpu_realtime(docker_env: dict[str, str], private_engine: EngineHandle) -> None:
    options = ("--cpu-rt-period", "1000000", "--cpu-rt-runtime", "95000")
    if not SUPPORT.cpu_rt:
        assert "Your kernel does not support cgroup cpu real-time period" in refused(docker_env, *options)
        return
    out, _ = inside(docker_env, "cd /sys/fs/cgroup/cpu && cat cpu.rt_period_us cpu.rt_runtime_us", *options)
    assert out.split() == ["1000000", "95000"]
    cpu = cgroups.current_mounts().v1["cpu"]
    engine_cpu = Path(cpu, private_engine.prefix)

    def leaves_gone() -> bool:  # `run --rm` returns at the exit; the removal (and its cgroup) follows
        return not [p for p in engine_cpu.iterdir() if p.is_dir()]

    for _ in range(2):  # what an ended container held is given back: the engine's share does not grow
        eventually(leaves_gone)
        twice, err = inside(docker_env, "cat /sys/fs/cgroup/cpu/cpu.rt_runtime_us", *options)
        assert twice.strip() == "95000", err
    eventually(leaves_gone)
    assert int(Path(cpu, private_engine.prefix, "cpu.rt_runtime_us").read_text()) == 95000
    nested = f"/{private_engine.prefix}rt/inner"
    try:
        out, _ = inside(docker_env, "cat /sys/fs/cgroup/cpu/cpu.rt_runtime_us", "--cgroup-parent", nested,
                        "--cpu-rt-period", "100000", "--cpu-rt-runtime", "5000")
        assert out.strip() == "5000"
        assert Path(cpu, nested.strip("/"), "cpu.rt_runtime_us").read_text().strip() == "50000"  # per second
    finally:
        for level in (nested.strip("/"), nested.strip("/").split("/")[0]):
            mounts = cgroups.current_mounts()
            for root in {*mounts.v1.values(), *([mounts.unified] if mounts.unified else [])}:
                cgroup_extra.release_rt(str(Path(root, level)))  # else it counts in the root's sum a while
                with contextlib.suppress(FileNotFoundError):
                    os.rmdir(Path(root, level))
    assert "cpu real-time runtime cannot be higher than cpu real-time period" in refused(
        docker_env, "--cpu-rt-period", "1000", "--cpu-rt-runtime", "5000")


def test_gpu_requests_are_refused_as_dockerd_without_a_gpu_driver(docker_env: dict[str, str]) -> None:
    assert 'could not select device driver "" with capabilities: [[gpu]]' in refused(docker_env, "--gpus", "all")
