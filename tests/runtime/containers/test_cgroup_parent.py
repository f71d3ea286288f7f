"""`--cgroup-parent` with the real docker CLI: the container's cgroup is `<parent>/<id>` in every
hierarchy (nested parents made), its limits are written there, and it is gone after removal."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import pytest

from runtime.linux import cgroups
from tests.runtime.api.containers_env import docker_env, inspect, private_engine, remove_all_containers
from tests.runtime.api.containers_env import run as docker

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]
__all__ = ["docker_env", "private_engine"]


def roots() -> list[Path]:
    mounts = cgroups.current_mounts()
    return [Path(p) for p in dict.fromkeys([*mounts.v1.values(), *([mounts.unified] if mounts.unified else [])])]


def test_container_cgroup_under_the_parent(docker_env: dict[str, str]) -> None:
    top = f"pycw12cp{uuid.uuid4().hex[:6]}"
    parent = f"/{top}/nested"
    try:
        docker(docker_env, "run", "-d", "--name", "cp", "--cgroup-parent", parent, "--memory", "64m", "busybox",
               "sleep", "1000")
        cid, pid = str(inspect(docker_env, "cp")["Id"]), inspect(docker_env, "cp")["State"]["Pid"]  # type: ignore[index]
        for root in roots():
            leaf = root / top / "nested" / cid
            assert str(pid) in (leaf / "cgroup.procs").read_text().split(), leaf
        memory = cgroups.current_mounts().v1.get("memory")
        if memory:
            assert (Path(memory) / top / "nested" / cid / "memory.limit_in_bytes").read_text().strip() == "67108864"
        own = Path(f"/proc/{pid}/cgroup").read_text()
        assert f"/{top}/nested/{cid}" in own
        assert inspect(docker_env, "cp")["HostConfig"]["CgroupParent"] == parent  # type: ignore[index]
        docker(docker_env, "rm", "-f", "cp")
        assert not any((root / top / "nested" / cid).exists() for root in roots())
        bad = docker(docker_env, "run", "--rm", "--cgroup-parent", "../escape", "busybox", "true", check=False)
        assert bad.returncode == 125 and b"invalid cgroup parent" in bad.stderr
    finally:
        remove_all_containers(docker_env)
        for root in roots():
            for level in (root / top / "nested", root / top):
                with contextlib.suppress(FileNotFoundError):
                    os.rmdir(level)
