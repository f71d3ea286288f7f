"""Serve an API application in-process on a temporary UNIX socket (tests only)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import anyio
from anyio import wait_all_tasks_blocked

from runtime.api.server import App, serve


@contextmanager
def short_dir() -> Iterator[Path]:
    """A directory whose socket paths fit AF_UNIX's 107 bytes (pytest's tmp_path may not)."""
    path = Path(tempfile.mkdtemp(prefix="pyc-api-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@asynccontextmanager
async def serving(app: App, path: Path) -> AsyncIterator[Path]:
    """Serve `app` on `path` for the duration of the block."""
    listener = await anyio.create_unix_listener(path)
    async with listener, anyio.create_task_group() as tasks:
        tasks.start_soon(serve, listener, app)
        try:
            yield path
        finally:
            # Let the server see what clients did last (a close, say) before it
            # is cancelled: anyio's asyncio UNIX streams otherwise log an
            # InvalidStateError when readiness and cancellation meet.
            await wait_all_tasks_blocked()
            tasks.cancel_scope.cancel()


async def raw_exchange(path: Path, data: bytes) -> bytes:
    """Send raw bytes, half-close, and return everything the server sends back."""
    async with await anyio.connect_unix(path) as stream:
        await stream.send(data)
        await stream.send_eof()
        chunks = []
        with anyio.fail_after(5):
            while True:
                try:
                    chunks.append(await stream.receive())
                except anyio.EndOfStream:
                    break
        return b"".join(chunks)
