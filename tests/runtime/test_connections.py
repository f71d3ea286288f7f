"""The connection pool: the derived limit, what counts as exhaustion, eviction and idle closing in-process."""

from __future__ import annotations

import errno
import logging
from pathlib import Path

import anyio
import anyio.abc
import pytest

from runtime.connections import ConnectionLimits, ConnectionPool, Slot, default_max_connections, exhausted
from tests.runtime.api.inprocess import short_dir


def test_default_limit_leaves_room_for_the_rest_of_the_process() -> None:
    assert default_max_connections(256) == 96
    assert default_max_connections(1024) == 480
    assert default_max_connections(20000) == 9968
    assert default_max_connections(16) == 8  # never below a handful


def test_exhaustion_is_read_through_anyios_wrapping() -> None:
    wrapped = anyio.BrokenResourceError()
    wrapped.__cause__ = OSError(errno.EMFILE, "Too many open files")
    assert exhausted(wrapped) == "file descriptors"
    assert exhausted(OSError(errno.ENFILE, "Too many open files in system")) == "file descriptors"
    assert exhausted(OSError(errno.ENOBUFS, "No buffer space available")) == "memory"
    assert exhausted(OSError(errno.ECONNABORTED, "aborted")) is None
    assert exhausted(anyio.BrokenResourceError()) is None


async def _wait_for_request(stream: anyio.abc.ByteStream, slot: Slot, ended: list[str | None]) -> None:
    """A server's connection task, waiting for a request that never comes."""
    async with stream:
        with slot, slot.waiting(), pytest.raises(anyio.EndOfStream):
            await stream.receive()
    ended.append(slot.closed_because)


@pytest.mark.anyio
async def test_pool_evicts_only_waiting_connections_and_closes_idle_ones() -> None:
    pool = ConnectionPool("test", ConnectionLimits(idle_timeout=0.5, max_connections=2), logging.getLogger("t"))
    ended: list[str | None] = []
    with short_dir() as d:
        path = Path(d) / "s.sock"
        async with await anyio.create_unix_listener(path) as listener, anyio.create_task_group() as tasks:
            clients = [await anyio.connect_unix(path) for _ in range(3)]
            busy_stream, busy = await pool.accept(listener)  # in the middle of a request: never closed
            stream, slot = await pool.accept(listener)
            tasks.start_soon(_wait_for_request, stream, slot, ended)
            assert len(pool) == 2
            with anyio.fail_after(5):
                # Full: the waiting connection makes room (once past the grace for fresh ones).
                stream, slot = await pool.accept(listener)
            assert ended == ["to make room"] and busy.closed_because is None and len(pool) == 2
            tasks.start_soon(_wait_for_request, stream, slot, ended)
            tasks.start_soon(pool.close_idle_forever)
            with anyio.fail_after(5):
                while len(ended) < 2:
                    await anyio.sleep(0.05)
            assert ended == ["to make room", "idle for 0.5 s"] and busy.closed_because is None
            assert len(pool) == 1
            for client in (busy_stream, *clients):
                await client.aclose()
            tasks.cancel_scope.cancel()
