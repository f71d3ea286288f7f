"""The container manager over a fake supervisor: lifecycle, waits, restart policies, re-adoption, execs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from runtime.containers import exec_lifecycle, views, waits
from runtime.containers.manager import ContainerManager, NotModified
from runtime.errors import EngineError
from tests.runtime.containers.fakes import FakeSupervisor, running

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]


def actions(manager: ContainerManager) -> list[str]:
    with manager.table.events.listen() as (history, _):
        return [e["Action"] for e in history if e["Type"] == "container"]


async def until(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(5):
        while not condition():
            await anyio.sleep(0.01)


async def settle() -> None:
    for _ in range(5):
        await anyio.wait_all_tasks_blocked()


async def create(manager: ContainerManager, name: str, **host_config: Any) -> str:
    result = await manager.create({"Image": "busybox", "Cmd": ["sleep", "1"], "HostConfig": host_config}, name)
    return str(result["Id"])


async def test_create_start_exit_wait(tmp_path: Path) -> None:
    supervisor = FakeSupervisor()
    async with running(tmp_path, supervisor) as manager:
        cid = await create(manager, "web")
        record = manager.table.records.get("web")
        assert record.id == cid and record.state.status == "created"
        assert manager.table.records.get(cid[:6]) is record and manager.table.records.get("/web") is record
        with pytest.raises(EngineError) as conflict:
            await create(manager, "web")
        assert conflict.value.status == 409 and f'is already in use by container "{cid}"' in conflict.value.message
        with pytest.raises(EngineError) as missing:
            await manager.create({"Image": "nope"}, "x")
        assert (missing.value.status, missing.value.message) == (404, "No such image: nope")
        next_exit = waits.waiter(manager.table, "web", "next-exit")
        await manager.start("web")
        assert record.state.status == "running" and record.state.pid > 0
        with pytest.raises(NotModified):
            await manager.start("web")
        supervisor.exit(cid, 3)
        assert (await next_exit())["StatusCode"] == 3
        assert record.state.status == "exited" and record.state.exit_code == 3
        assert (await waits.waiter(manager.table, "web", "not-running")())["StatusCode"] == 3
        assert actions(manager) == ["create", "start", "die"]
        assert views.counts(manager.table) == {"Containers": 1, "ContainersRunning": 0, "ContainersPaused": 0,
                                         "ContainersStopped": 1}


async def test_stop_escalates_to_sigkill(tmp_path: Path) -> None:
    supervisor = FakeSupervisor()
    async with running(tmp_path, supervisor) as manager:
        cid = await create(manager, "slow")
        supervisor.stubborn.add(cid)
        await manager.start(cid)
        await manager.stop(cid, timeout=0)
        signals = [args[1] for name, args in supervisor.calls if name == "kill"]
        assert signals == [15, 9]
        assert manager.table.records.get(cid).state.exit_code == 137
        assert actions(manager)[-4:] == ["kill", "kill", "die", "stop"]
        with pytest.raises(NotModified):
            await manager.stop(cid)
        with pytest.raises(EngineError) as not_running:
            await manager.kill(cid)
        assert not_running.value.status == 409


async def test_remove(tmp_path: Path) -> None:
    supervisor = FakeSupervisor()
    async with running(tmp_path, supervisor) as manager:
        cid = await create(manager, "gone")
        bundle = Path(manager.table.records.get(cid).bundle)
        await manager.start(cid)
        removed = waits.waiter(manager.table, cid, "removed")
        with pytest.raises(EngineError) as busy:
            await manager.remove(cid)
        assert busy.value.message == (f"You cannot remove a running container {cid}. Stop the container before "
                                      "attempting removal or force remove")
        await manager.remove(cid, force=True)
        assert (await removed())["StatusCode"] == 137
        assert manager.table.records.find(cid) is None and not bundle.exists() and cid not in supervisor.states
        assert actions(manager)[-1] == "destroy"
        with pytest.raises(EngineError) as unknown:
            manager.table.records.get(cid)
        assert unknown.value.message == f"No such container: {cid}"


async def test_auto_remove_and_start_failure(tmp_path: Path) -> None:
    supervisor = FakeSupervisor(fail_start={"broken": 'exec: "nope": executable file not found in $PATH'})
    async with running(tmp_path, supervisor) as manager:
        cid = await create(manager, "temp", AutoRemove=True)
        removed = waits.waiter(manager.table, cid, "removed")
        await manager.start(cid)
        supervisor.exit(cid, 0)
        assert (await removed())["StatusCode"] == 0
        broken = await create(manager, "broken")
        with pytest.raises(EngineError) as failed:
            await manager.start(broken)
        assert failed.value.status == 400 and "executable file not found" in failed.value.message
        state = manager.table.records.get(broken).state
        assert (state.status, state.exit_code) == ("created", 127) and "not found" in state.error


async def test_restart_policies(tmp_path: Path) -> None:
    supervisor = FakeSupervisor()
    async with running(tmp_path, supervisor) as manager:
        always = await create(manager, "always", RestartPolicy={"Name": "always"})
        flaky = await create(manager, "flaky", RestartPolicy={"Name": "on-failure", "MaximumRetryCount": 2})
        for cid in (always, flaky):
            await manager.start(cid)
        supervisor.exit(always, 0)
        await until(lambda: manager.table.records.get(always).state.status == "restarting")
        for _ in range(3):
            supervisor.exit(flaky, 1)
            await until(lambda: manager.table.records.get(flaky).state.status != "running")
            await until(lambda: manager.table.records.get(flaky).state.status != "restarting")
        record = manager.table.records.get(always)
        assert record.state.status == "running" and record.restart_count == 1
        flaky_record = manager.table.records.get(flaky)
        assert flaky_record.state.status == "exited" and flaky_record.restart_count == 2
        # A manual stop silences the policy.
        await manager.stop(always)
        await settle()
        assert manager.table.records.get(always).state.status == "exited"


async def test_unless_stopped_and_readoption(tmp_path: Path) -> None:
    supervisor = FakeSupervisor()
    async with running(tmp_path, supervisor) as manager:
        keep = await create(manager, "keep")
        back = await create(manager, "back", RestartPolicy={"Name": "always"})
        stopped = await create(manager, "stopped", RestartPolicy={"Name": "unless-stopped"})
        lost = await create(manager, "lost")
        for cid in (keep, back, stopped, lost):
            await manager.start(cid)
        await manager.stop(stopped)
    # The engine is gone; meanwhile one container exits and one vanishes with its supervisor state.
    supervisor.exit(back, 2)
    del supervisor.states[lost]
    supervisor.__post_init__()  # a fresh event subscription for the next engine
    async with running(tmp_path, supervisor) as manager:
        await settle()
        assert manager.table.records.get(keep).state.status == "running"
        assert manager.table.records.get(lost).state.exit_code == 255
        assert manager.table.records.get(stopped).state.status == "exited"
        await until(lambda: manager.table.records.get(back).state.status == "running")


async def test_execs(tmp_path: Path) -> None:
    supervisor = FakeSupervisor()
    async with running(tmp_path, supervisor) as manager:
        cid = await create(manager, "box")
        with pytest.raises(EngineError) as not_running:
            exec_lifecycle.create_exec(manager.table, cid, {"Cmd": ["ls"]})
        assert not_running.value.message == f"Container {cid} is not running"
        await manager.start(cid)
        entry = exec_lifecycle.create_exec(manager.table, cid, {"Cmd": ["sh", "-c", "exit 3"], "Env": ["X=1"],
                                                                "AttachStdout": True})
        record, started = exec_lifecycle.claim_exec(manager.table, entry.id)
        sock = await exec_lifecycle.run_exec(manager.table, record, started, stdin=False)
        sock.close()
        spec = next(args for name, args in supervisor.calls if name == "exec")
        assert spec.process.args == ("sh", "-c", "exit 3") and "X=1" in spec.process.env
        assert any(e.startswith("HOSTNAME=") for e in spec.process.env)
        assert manager.table.execs.get(entry.id).inspect()["Running"] is True
        with pytest.raises(EngineError):
            exec_lifecycle.claim_exec(manager.table, entry.id)
        supervisor.exec_exit(cid, started.pid, 3)
        with anyio.fail_after(5):
            await started.done.wait()
        info = manager.table.execs.get(entry.id).inspect()
        assert (info["Running"], info["ExitCode"], info["ProcessConfig"]["entrypoint"]) == (False, 3, "sh")
        assert "exec_die" in actions(manager)
        assert actions(manager)[-3].startswith("exec_create: sh -c exit 3")


async def test_list_filters_and_rename(tmp_path: Path) -> None:
    async with running(tmp_path) as manager:
        a = await manager.create({"Image": "busybox", "Labels": {"tier": "web"}}, "alpha")
        b = await manager.create({"Image": "busybox"}, "beta")
        await manager.start(str(a["Id"]))

        def names(all_: bool = False, **filters: list[str]) -> list[str]:
            return [c["Names"][0] for c in views.list_containers(manager.table, all_, filters, -1, {})]

        assert names() == ["/alpha"]
        assert names(True) == ["/beta", "/alpha"]
        assert names(label=["tier=web"], all_=True) == ["/alpha"]
        assert names(status=["created"]) == ["/beta"]
        assert names(True, name=["bet"]) == ["/beta"]
        assert names(before=["beta"]) == ["/alpha"]
        manager.rename(str(b["Id"]), "gamma")
        assert names(True)[0] == "/gamma" and actions(manager)[-1] == "rename"
        with pytest.raises(EngineError) as bad:
            views.list_containers(manager.table, True, {"colour": ["red"]}, -1, {})
        assert bad.value.status == 400
        summary = views.list_containers(manager.table, False, {}, -1, {})[0]
        assert summary["State"] == "running" and summary["Status"].startswith("Up ")
        pruned = await views.prune(manager.table, {}, manager.remove)
        assert pruned["ContainersDeleted"] == [b["Id"]]
