"""Health monitors in the manager over a fake supervisor: probes as execs, events, timeouts, restarts."""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest

from runtime.containers import views
from runtime.containers.manager import ContainerManager
from runtime.containers.supervisor.protocol import frame
from runtime.spec import ExecSpec
from tests.runtime.containers.fakes import FakeSupervisor, SupervisorError, running

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]
MS = 1_000_000


@dataclass
class ProbingSupervisor(FakeSupervisor):
    """Execs answer from `codes` (one per probe, the last repeats); None hangs until exec_kill."""

    codes: list[int | None] = field(default_factory=lambda: [0])
    output: bytes = b"probe says hi\n"
    probes: list[ExecSpec] = field(default_factory=list)
    hanging: dict[int, str] = field(default_factory=dict)

    async def exec(self, container_id: str, spec: ExecSpec, *, tty: bool, stdin: bool) -> tuple[int, socket.socket]:
        self.probes.append(spec)
        code = self.codes[min(len(self.probes), len(self.codes)) - 1]
        self.next_pid += 1
        ours, theirs = socket.socketpair()
        ours.sendall(frame(1, self.output[:5]) + frame(2, self.output[5:]))
        if code is None:
            self.hanging[self.next_pid] = container_id
            self._held = ours  # the stream stays open while the probe "runs"
        else:
            ours.close()
            self.exec_exit(container_id, self.next_pid, code)
        return self.next_pid, theirs

    async def exec_kill(self, exec_pid: int, sig: int) -> None:
        self.calls.append(("exec_kill", (exec_pid, sig)))
        container_id = self.hanging.pop(exec_pid, None)
        if container_id is None:
            raise SupervisorError("no running exec process")
        self._held.close()
        self.exec_exit(container_id, exec_pid, 128 + sig)


async def until(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(5):
        while not condition():
            await anyio.sleep(0.005)


def actions(manager: ContainerManager) -> list[str]:
    with manager.table.events.listen() as (history, _):
        return [e["Action"] for e in history if e["Type"] == "container"]


async def create(manager: ContainerManager, name: str, healthcheck: dict[str, Any] | None) -> str:
    body: dict[str, Any] = {"Image": "busybox", "Cmd": ["sleep", "100"], "Env": ["PROBE=1"]}
    if healthcheck is not None:
        body["Healthcheck"] = healthcheck
    return str((await manager.create(body, name))["Id"])


def state_health(manager: ContainerManager, name: str) -> dict[str, Any]:
    doc = views.inspect(manager.table, name)
    result: dict[str, Any] = doc["State"]["Health"]
    return result


async def test_starting_then_healthy_with_exec_events(tmp_path: Path) -> None:
    supervisor = ProbingSupervisor(codes=[1, 0])
    async with running(tmp_path, supervisor) as manager:
        await create(manager, "web", {"Test": ["CMD-SHELL", "test -f /tmp/ok"], "Interval": 20 * MS,
                                      "Retries": 3})
        await manager.start("web")
        assert state_health(manager, "web") == {"Status": "starting", "FailingStreak": 0, "Log": []}
        await until(lambda: "health_status: healthy" in actions(manager))
        got = state_health(manager, "web")
        assert got["Status"] == "healthy" and got["FailingStreak"] == 0
        assert [e["ExitCode"] for e in got["Log"]][:2] == [1, 0]
        assert got["Log"][0]["Output"] == "probe says hi\n"
        assert got["Log"][0]["Start"] <= got["Log"][0]["End"]
        spec = supervisor.probes[0]
        assert list(spec.process.args) == ["/bin/sh", "-c", "test -f /tmp/ok"]
        assert "PROBE=1" in spec.process.env and not spec.privileged
        seen = actions(manager)
        assert "exec_create: /bin/sh -c test -f /tmp/ok" in seen and "exec_die" in seen
        assert "exec_start: /bin/sh -c test -f /tmp/ok" in seen
        assert seen.count("health_status: healthy") == 1
        listed = views.list_containers(manager.table, False, {"health": ["healthy"]}, 0, {})
        assert [c["Names"] for c in listed] == [["/web"]]
        assert listed[0]["Status"].endswith(" (healthy)")
        assert views.list_containers(manager.table, False, {"health": ["starting", "none"]}, 0, {}) == []


async def test_failures_make_it_unhealthy_and_events_carry_attributes(tmp_path: Path) -> None:
    supervisor = ProbingSupervisor(codes=[1])
    async with running(tmp_path, supervisor) as manager:
        cid = await create(manager, "bad", {"Test": ["CMD", "false"], "Interval": 10 * MS, "Retries": 2})
        await manager.start("bad")
        await until(lambda: "health_status: unhealthy" in actions(manager))
        with manager.table.events.listen() as (history, _):
            event = next(e for e in history if e["Action"] == "health_status: unhealthy")
        assert event["Actor"]["ID"] == cid and event["Actor"]["Attributes"]["name"] == "bad"
        assert event["Actor"]["Attributes"]["image"] == "busybox"
        assert state_health(manager, "bad")["FailingStreak"] >= 2
        assert list(supervisor.probes[0].process.args) == ["false"]
        # Saved with the record at the change, as inspect after an engine restart shows it.
        assert manager.table.records.get("bad").state.health is not None


async def test_a_hanging_probe_is_killed_at_its_timeout(tmp_path: Path) -> None:
    supervisor = ProbingSupervisor(codes=[None])
    async with running(tmp_path, supervisor) as manager:
        await create(manager, "slow", {"Test": ["CMD", "sleep", "10"], "Interval": 10 * MS, "Timeout": 50 * MS,
                                       "Retries": 1})
        await manager.start("slow")
        await until(lambda: "health_status: unhealthy" in actions(manager))
        last = state_health(manager, "slow")["Log"][0]
        assert last["ExitCode"] == -1
        assert last["Output"] == "Health check exceeded timeout (50ms): probe says hi\n"
        assert any(c[0] == "exec_kill" and c[1][1] == signal.SIGKILL for c in supervisor.calls)


async def test_restart_resets_to_starting_and_stop_ends_probing(tmp_path: Path) -> None:
    supervisor = ProbingSupervisor(codes=[0])
    async with running(tmp_path, supervisor) as manager:
        await create(manager, "rr", {"Test": ["CMD", "true"], "Interval": 10 * MS})
        await manager.start("rr")
        await until(lambda: state_health(manager, "rr")["Status"] == "healthy")
        await manager.stop("rr", timeout=1)
        assert not manager.health.running(manager.table.records.get("rr").id)
        probes = len(supervisor.probes)
        await anyio.sleep(0.05)
        assert len(supervisor.probes) == probes  # no probe of a stopped container
        assert state_health(manager, "rr")["Status"] == "healthy"  # kept while stopped, as Docker does
        supervisor.codes = [1]
        await manager.start("rr")
        after = state_health(manager, "rr")
        assert after["Status"] == "starting" and after["FailingStreak"] == 0 and after["Log"]
        await manager.restart("rr", timeout=1)
        assert state_health(manager, "rr")["Status"] == "starting"
        await manager.remove("rr", force=True)


async def test_no_health_without_a_probe(tmp_path: Path) -> None:
    supervisor = ProbingSupervisor()
    async with running(tmp_path, supervisor) as manager:
        await create(manager, "plain", None)
        await create(manager, "off", {"Test": ["NONE"]})
        await manager.start("plain")
        await manager.start("off")
        await anyio.sleep(0.05)
        assert supervisor.probes == []
        for name in ("plain", "off"):
            assert "Health" not in views.inspect(manager.table, name)["State"]
        listed = views.list_containers(manager.table, False, {"health": ["none"]}, 0, {})
        assert sorted(c["Names"][0] for c in listed) == ["/off", "/plain"]
        assert all("(" not in c["Status"] for c in listed)


async def test_readoption_at_boot_starts_over(tmp_path: Path) -> None:
    supervisor = ProbingSupervisor(codes=[1])
    async with running(tmp_path, supervisor) as manager:
        await create(manager, "kept", {"Test": ["CMD", "false"], "Interval": 10 * MS, "Retries": 1,
                                       "StartPeriod": 3600 * 1000 * MS, "StartInterval": 10 * MS})
        await manager.start("kept")
        await until(lambda: len(state_health(manager, "kept")["Log"]) >= 2)
        assert state_health(manager, "kept")["Status"] == "starting"  # failures in the start period
    supervisor.__post_init__()
    supervisor.codes = [0]
    async with running(tmp_path, supervisor) as manager:
        # Probe results are kept in memory only, as Docker does; a status change is saved.
        assert state_health(manager, "kept")["Status"] == "starting"
        await until(lambda: state_health(manager, "kept")["Status"] == "healthy")
