"""A child is born in its cgroup's v2 leaf (clone3) and moves itself into the v1 leaves (tasks, tid 0)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.containers.supervisor.birth import clone_in_cgroup
from runtime.linux import syscalls as sc
from runtime.linux.cgroups import Cgroup
from runtime.spec import Resources

pytestmark = pytest.mark.root


@pytest.fixture
def prefix() -> Iterator[str]:
    name = "pyctest" + secrets.token_hex(3)
    yield name
    assert Cgroup.cleanup_prefix(name) == []


def membership(pid: int) -> dict[str, str]:
    """/proc/PID/cgroup as {hierarchy's controllers ("" for v2): path}."""
    out = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        out[controllers] = path
    return out


def test_born_in_the_v2_leaf_and_joined_to_v1_by_itself(prefix: str) -> None:
    cg = Cgroup.create(prefix, "born", Resources(pids_limit=10))
    fd = cg.fd_for_clone()
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid, pidfd = -1, -1
    try:
        pid, pidfd, born_in = clone_in_cgroup(0, fd)
        if pid == 0:  # pragma: no cover - the child
            code = 1
            try:
                if born_in:
                    cg.join_self_v1()
                else:
                    os.read(go_r, 1)
                os.write(ready_w, b"x")
                os.read(go_r, 1)
                code = 0
            finally:
                os._exit(code)
        assert born_in, "clone3 is missing on this kernel"
        assert os.read(ready_r, 1) == b"x"
        leaf = f"/{prefix}/born"
        found = membership(pid)
        if cg.unified is not None:
            assert found[""] == leaf
        for controllers, path in found.items():
            if controllers and any(c in controllers.split(",") for c in cg.v1):
                assert path == leaf, (controllers, found)
        assert cg.pids() == [pid]
        os.write(go_w, b"x")
        assert sc.waitid_pidfd(pidfd, block=True) == 0
    finally:
        for end in (ready_r, ready_w, go_r, go_w):
            os.close(end)
        if fd is not None:
            os.close(fd)
        if pidfd >= 0:
            os.close(pidfd)
        cg.remove()
