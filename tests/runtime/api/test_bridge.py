"""Worker threads reading request bodies and writing response bodies."""

from __future__ import annotations

import threading
from typing import BinaryIO

import anyio
import anyio.to_thread
import pytest

from runtime.api.bridge import stream_from_writer, sync_reader

pytestmark = pytest.mark.anyio


async def test_sync_reader_reads_async_chunks_in_a_thread() -> None:
    parts = [b"hello ", b"wor", b"ld", b""]

    async def receive() -> bytes:
        return parts.pop(0)

    def read_all(f: BinaryIO) -> tuple[bytes, bytes]:
        return f.read(3), f.read()

    assert await anyio.to_thread.run_sync(read_all, sync_reader(receive)) == (b"hel", b"lo world")


async def test_stream_from_writer_batches_small_writes() -> None:
    def produce(out: BinaryIO) -> None:
        for _ in range(1000):
            out.write(b"x" * 512)  # tarfile writes 512-byte blocks

    async with anyio.create_task_group() as tasks:
        chunks = [c async for c in stream_from_writer(tasks, produce)]
    assert b"".join(chunks) == b"x" * 512_000
    assert len(chunks) < 20


async def test_stream_from_writer_raises_the_producers_error() -> None:
    def produce(out: BinaryIO) -> None:
        out.write(b"some")
        raise LookupError("no such image")

    async with anyio.create_task_group() as tasks:
        with pytest.raises(LookupError, match="no such image"):
            async for _ in stream_from_writer(tasks, produce):
                pass


async def test_closing_the_stream_early_stops_the_producer() -> None:
    stopped = threading.Event()

    def produce(out: BinaryIO) -> None:
        try:
            while True:
                out.write(b"y" * 65536)
        finally:
            stopped.set()

    async with anyio.create_task_group() as tasks:
        chunks = stream_from_writer(tasks, produce)
        assert await anext(chunks)
        await chunks.aclose()  # type: ignore[attr-defined]
    assert stopped.is_set()


async def test_sync_reader_takes_many_small_chunks_in_one_trip_to_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    parts = [b"z" * 1024] * 1000 + [b""]  # a client's upload, as the connection hands it over

    async def receive() -> bytes:
        return parts.pop(0)

    trips = []
    real = anyio.from_thread.run

    def counting(fn, *args):  # type: ignore[no-untyped-def]
        trips.append(fn)
        return real(fn, *args)

    monkeypatch.setattr(anyio.from_thread, "run", counting)
    data = await anyio.to_thread.run_sync(lambda: sync_reader(receive).read())
    assert data == b"z" * 1_024_000
    assert len(trips) <= 2  # up to a MiB a trip (a thread hop costs ~0.1 ms), not one per chunk
