"""The event bus: Docker's event shape, history for `since`, filters."""

from __future__ import annotations

import anyio
import pytest

from runtime.containers.events import EventBus, check_filters, matches, parse_time
from runtime.errors import EngineError


@pytest.mark.anyio
async def test_listen_sees_history_then_new_events() -> None:
    bus = EventBus()
    first = bus.emit("container", "create", "c1", {"name": "web", "image": "busybox", "tier": "front"})
    assert first["Actor"] == {"ID": "c1", "Attributes": {"name": "web", "image": "busybox", "tier": "front"}}
    assert first["status"] == "create" and first["from"] == "busybox" and first["scope"] == "local"
    assert first["time"] == first["timeNano"] // 10**9
    with bus.listen() as (history, receive):
        assert bus.listeners == 1 and history == [first]
        second = bus.emit("container", "start", "c1", {"name": "web"})
        with anyio.fail_after(1):
            assert await receive.receive() == second
    assert bus.listeners == 0


def test_filters() -> None:
    bus = EventBus()
    event = bus.emit("container", "exec_create: ls /", "c1" * 32, {"name": "web", "image": "busybox", "tier": "a"})
    names = {"c1" * 32: "web"}
    assert matches(event, {"event": ["exec_create"]}, names)
    assert matches(event, {"container": ["web"]}, names) and matches(event, {"container": ["c1c1"]}, names)
    assert not matches(event, {"container": ["db"]}, names)
    assert matches(event, {"label": ["tier=a"], "type": ["container"], "image": ["busybox"]}, names)
    assert not matches(event, {"label": ["tier=b"]}, names) and not matches(event, {"type": ["image"]}, names)
    with pytest.raises(EngineError):
        check_filters({"colour": ["red"]})


def test_parse_time() -> None:
    assert parse_time("") is None
    assert parse_time("1700000000") == 1700000000 * 10**9
    assert parse_time("1700000000.5") == 1700000000 * 10**9 + 500_000_000
    with pytest.raises(EngineError):
        parse_time("yesterday")
