"""`up` interrupted by SIGKILL (of the CLI, or of the engine) converges on the next `up`; `down -v` then leaves
nothing of the project, in the engine or in the kernel.

The project is a chain of ten services, each waiting for the previous one
to be healthy, so an `up` takes a few seconds and a kill after about one
lands in the middle of it. Their PID 1 ignores SIGTERM and they stop after
a 3 s grace period, so a recreate killed after one second leaves the new
containers under their temporary names beside the old ones.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compose.cli import compose_e2e
from tests.compose.cli.compose_e2e import Stack, import_busybox, stop_supervisor
from tests.compose.cli.project_objects import collect, leftovers
from tests.engine_fixture import EngineHandle, start_private_engine

pytestmark = [pytest.mark.root, pytest.mark.timeout(240)]
compose_engine = compose_e2e.compose_engine  # a fixture: the module's engine
stack = compose_e2e.stack  # a fixture: a project folder and name, taken down after the test

SERVICES = 10
TEMPORARY = re.compile(r"^[0-9a-f]{12}_")  # how a recreate names the new container until the old one is gone


def chain(environment: str = "1") -> str:
    lines = ["services:"]
    for n in range(SERVICES):
        lines += [
            f"  s{n}:",
            "    image: busybox",
            "    command: [\"sh\", \"-c\", \"while true; do sleep 0.1; done\"]",
            "    stop_grace_period: 3s",
            f"    environment: {{GENERATION: '{environment}'}}",
            "    healthcheck: {test: [CMD, 'true'], interval: 300ms, retries: 3}",
            "    volumes: [data:/data]",
        ]
        if n:
            lines.append(f"    depends_on: {{s{n - 1}: {{condition: service_healthy}}}}")
    lines.append("volumes: {data: {}}")
    return "\n".join(lines) + "\n"


def kill_after(process: subprocess.Popen[str], seconds: float) -> None:
    time.sleep(seconds)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)


def assert_converged(stack: Stack, environment: str = "1") -> None:
    """Every service runs exactly one container, under its own name, with the current configuration."""
    containers = stack.containers()
    names = sorted(c["Name"] for c in containers)
    assert not [n for n in names if TEMPORARY.match(n)], names
    assert names == sorted(f"{stack.name}-s{n}-1" for n in range(SERVICES)), names
    assert {c["State"] for c in containers} == {"running"}, containers
    for c in containers:
        assert f"GENERATION={environment}" in stack.inspect(c["ID"])["Config"]["Env"]


def down_leaves_nothing(stack: Stack) -> None:
    objects = collect(stack.handle, stack.name)
    assert len(objects.containers) == SERVICES and objects.networks and objects.volumes
    present = leftovers(stack.handle, stack.name, objects)  # the probe finds them while they exist
    assert {"containers", "networks", "volumes", "links", "cgroups", "processes"} <= present.keys(), present
    stack.ok("down", "-v", "-t", "1")
    assert leftovers(stack.handle, stack.name, objects) == {}


def test_sigkill_of_up_mid_way_then_up_again(stack: Stack) -> None:
    stack.write(chain())
    kill_after(stack.popen("up", "-d"), 1.0)
    stack.ok("up", "-d", timeout=120)
    assert_converged(stack)
    down_leaves_nothing(stack)


def test_sigkill_of_up_while_it_recreates_then_up_again(stack: Stack) -> None:
    stack.write(chain())
    stack.ok("up", "-d", timeout=120)
    stack.write(chain("2"))
    kill_after(stack.popen("up", "-d"), 1.0)
    stack.ok("up", "-d", timeout=120)
    assert_converged(stack, "2")
    down_leaves_nothing(stack)


@pytest.fixture
def own_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[EngineHandle]]:
    """An engine of this test's own, in a list the test replaces it in when it restarts it."""
    from tests.runtime.images.busybox import build_busybox_rootfs_tar

    tmp = tmp_path_factory.mktemp("killed-engine")
    handles = [start_private_engine(tmp / "engine", log_level="info")]
    try:
        import_busybox(handles[0], build_busybox_rootfs_tar(tmp / "busybox.tar"))
        yield handles
    finally:
        try:
            if handles[-1].process.poll() is None:
                handles[-1].stop()
        finally:
            stop_supervisor(handles[-1].root)


def test_sigkill_of_the_engine_mid_up_then_up_again(own_engine: list[EngineHandle], tmp_path: Path) -> None:
    first = Stack(own_engine[0], tmp_path, "killedengine")
    first.write(chain())
    up = first.popen("up", "-d")
    time.sleep(1.0)
    first.handle.process.send_signal(signal.SIGKILL)
    first.handle.process.wait(30)
    up.communicate(timeout=60)  # the CLI loses its engine: it fails, it must not hang
    assert up.returncode != 0
    own_engine.append(start_private_engine(first.handle.root.parent, log_level="info"))
    again = Stack(own_engine[-1], tmp_path, first.name)
    try:
        again.ok("up", "-d", timeout=120)
        assert_converged(again)
        down_leaves_nothing(again)
    finally:
        again.run("down", "-v", "-t", "0")
