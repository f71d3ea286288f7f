"""The engine's client: errors, concurrency, events across a supervisor restart."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import anyio
import pytest

from runtime.containers.supervisor import launch
from runtime.containers.supervisor_client import ContainerState, SupervisorClient, SupervisorError
from tests.runtime.containers.supervisor.conftest import SupervisorHandle, lower, sup  # noqa: F401

pytestmark = [pytest.mark.root, pytest.mark.anyio, pytest.mark.timeout(60)]


async def test_connect_without_a_supervisor_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(SupervisorError) as info:
        await SupervisorClient.connect(tmp_path)
    assert info.value.kind == "unavailable"


def test_container_state_defaults_are_docker_zero_times() -> None:
    state = ContainerState.from_dict({"id": "x", "status": "created", "pid": 3})
    assert state.started_at == state.finished_at == "0001-01-01T00:00:00Z"
    assert (state.exit_code, state.oom_killed) == (0, False)


async def test_errors_carry_kind(sup: SupervisorHandle) -> None:  # noqa: F811
    client = await SupervisorClient.connect(sup.root)
    try:
        with pytest.raises(SupervisorError) as info:
            await client.kill("nope", signal.SIGTERM)
        assert info.value.kind == "not_found" and "nope" in str(info.value)
        with pytest.raises(SupervisorError) as info:
            await client._call("no_such_op")
        assert info.value.kind == "invalid"
    finally:
        await client.aclose()


async def test_events_survive_a_supervisor_restart(sup: SupervisorHandle) -> None:  # noqa: F811
    client = await SupervisorClient.connect(sup.root)
    events: list[dict[str, Any]] = []
    try:
        async with anyio.create_task_group() as tg:

            async def watch() -> None:
                async for event in client.events():
                    events.append(event)
                    if event["event"] == "exit":
                        tg.cancel_scope.cancel()

            tg.start_soon(watch)
            await anyio.sleep(0.1)
            assert launch.shutdown(sup.root, force=False)  # the subscription drops
            sup.pid = await anyio.to_thread.run_sync(launch.ensure_supervisor, sup.root, sup.prefix)
            await anyio.sleep(0.5)  # the client reconnects by itself
            spec = sup.spec(["true"])
            await client.create(spec, max_size=None, max_file=1, stdin_open=False, tty=False)
            await client.start(spec.id)
            with anyio.fail_after(10):
                await anyio.sleep_forever()
    finally:
        await client.aclose()
    assert [e["event"] for e in events] == ["disconnected", "reconnected", "start", "exit"]


async def test_subscribe_misses_nothing_after_it_returns(sup: SupervisorHandle) -> None:  # noqa: F811
    client = await SupervisorClient.connect(sup.root)
    stream = await client.subscribe()
    try:
        spec = sup.spec(["sh", "-c", "exit 2"])
        await client.create(spec, max_size=None, max_file=1, stdin_open=False, tty=False)
        await client.start(spec.id)
        with anyio.fail_after(10):
            seen = [await stream.__anext__(), await stream.__anext__()]
    finally:
        await stream.aclose()
        await client.aclose()
    assert [(e["event"], e["id"]) for e in seen] == [("start", spec.id), ("exit", spec.id)]
    assert seen[1]["exit_code"] == 2
