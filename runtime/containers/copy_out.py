"""`GET /containers/{id}/archive` (docker cp out) and `GET /containers/{id}/export`: tars read from a
container's file system.

The same jobs as `docker cp` in (copy_in.py, supervisor/archive.py): a
live container is read inside its own mount namespace, chrooted into its
root (volumes and bind mounts as the container sees them; an export sees
the root file system alone); a container with no process has its overlay
(and, for cp, its volume and bind mounts) mounted in a private namespace
for the job, under the container's lock, which is held until the tar has
been sent. The job answers with one JSON line (the path's stat, or
dockerd's error) before the tar, so a missing path is still a 404.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from runtime.containers.copy_in import _binds, _is_live
from runtime.containers.supervisor_client import SupervisorError
from runtime.errors import EngineError

if TYPE_CHECKING:
    from runtime.containers.records import Record
    from runtime.containers.table import ContainerTable

CHUNK = 256 * 1024
MAX_HEAD = 1 << 20


async def get(table: ContainerTable, record: Record, path: str) -> tuple[dict[str, Any], AsyncIterator[bytes]]:
    """The stat of `path` (X-Docker-Container-Path-Stat) and the tar of it, as a stream of chunks."""
    stream = _stream(table, record, "get", path)
    head = json.loads(await anext(stream))
    found: dict[str, Any] = head["stat"]
    return found, stream


async def export(table: ContainerTable, record: Record) -> AsyncIterator[bytes]:
    """The container's root file system (no volumes) as a tar."""
    stream = _stream(table, record, "export", "/")
    await anext(stream)
    return stream


async def _stream(table: ContainerTable, record: Record, action: str, path: str) -> AsyncIterator[bytes]:
    """The job's first line, then the tar in chunks; its error is raised before anything is yielded."""
    live = _is_live(table, record)
    for _attempt in range(3):
        if live:
            sock = await _job(table, record, True, action, path)
            if sock is not None:
                async for chunk in _relay(sock):
                    yield chunk
                return
        else:
            async with table.live(record).lock:
                sock = await _job(table, record, False, action, path)
                if sock is not None:
                    async for chunk in _relay(sock):
                        yield chunk
                    return
        live = not live
    raise EngineError(409, f"container {record.id} is starting or stopping: try again")


async def _job(table: ContainerTable, record: Record, live: bool, action: str, path: str) -> socket.socket | None:
    extra: dict[str, Any] = {}
    if not live:
        extra = {"spec": record.spec, "binds": _binds(record) if action == "get" else ()}
    try:
        return await table.supervisor.archive(record.id, action, path, **extra)
    except SupervisorError as exc:
        if exc.kind in ("not_found", "conflict"):
            return None
        raise EngineError(500, f"cannot reach the container's file system: {exc}") from exc


async def _relay(sock: socket.socket) -> AsyncIterator[bytes]:
    try:
        line, rest = await anyio.to_thread.run_sync(_head, sock)
        try:
            head = json.loads(line)
        except ValueError:
            raise EngineError(500, "the copy from the container ended without an answer") from None
        if not head.get("ok"):
            raise EngineError(int(head.get("status") or 500), str(head.get("message") or "copy failed"))
        yield line
        if rest:
            yield rest
        while chunk := await anyio.to_thread.run_sync(sock.recv, CHUNK):
            yield chunk
    finally:
        with contextlib.suppress(OSError):
            sock.close()


def _head(sock: socket.socket) -> tuple[bytes, bytes]:
    """(the first line, what came after it)."""
    sock.settimeout(None)
    data = b""
    while b"\n" not in data and len(data) < MAX_HEAD:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    line, _, rest = data.partition(b"\n")
    return line, rest
