"""A private supervisor per test (own state root and cgroup prefix) and a busybox lower layer.

Teardown deletes every container, stops the supervisor with the `shutdown`
op (which must succeed: nothing may still run) and checks that no cgroup of
the prefix is left.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runtime.containers.supervisor import launch
from runtime.linux.cgroups import Cgroup
from runtime.spec import ContainerSpec
from tests.runtime.containers.support import busybox_lower, make_spec, unique_prefix


@dataclass
class SupervisorHandle:
    root: Path
    prefix: str
    lower: Path
    bundles: Path
    pid: int

    def spec(self, args: list[str], **overrides: Any) -> ContainerSpec:
        return make_spec(self.bundles, self.lower, args, self.prefix, **overrides)

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        return dict(launch.request(self.root, {"id": 1, "op": op, **fields}))

    def log_path(self, spec: ContainerSpec) -> Path:
        return Path(spec.bundle) / f"{spec.id}-json.log"

    def wait_status(self, cid: str, status: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            answer = self.request("state", cid=cid)
            state: dict[str, Any] = answer["state"]
            if state["status"] == status or time.monotonic() > deadline:
                return state
            time.sleep(0.01)


@pytest.fixture(scope="session")
def lower(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return busybox_lower(tmp_path_factory.mktemp("busybox"))


def stop_and_check(handle: SupervisorHandle) -> None:
    try:
        if launch.supervisor_alive(handle.root):
            listed = handle.request("list").get("containers", [])
            for c in listed:
                handle.request("delete", cid=c["id"], force=True)
            assert launch.stop_supervisor_if_idle(handle.root, 10), "supervisor did not exit"
    finally:
        launch.shutdown(handle.root, force=True)
        left = Cgroup.cleanup_prefix(handle.prefix)
    assert left == [], f"cgroups left behind: {left}"


@pytest.fixture
def sup(tmp_path: Path, lower: Path) -> Iterator[SupervisorHandle]:
    root = tmp_path / "root"
    prefix = unique_prefix()
    pid = launch.ensure_supervisor(root, prefix)
    handle = SupervisorHandle(root, prefix, lower, tmp_path / "bundles", pid)
    try:
        yield handle
    finally:
        stop_and_check(handle)
        shutil.rmtree(tmp_path / "bundles", ignore_errors=True)
