"""A RUN step as a container: created through the containers layer (the same isolation as
`docker run`), its output streamed as it comes, its exit code, its changes as a layer, and
the container removed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO

import anyio
import anyio.abc

from runtime.containers import attach, snapshot, waits
from runtime.containers.live import PendingAttach
from runtime.containers.supervisor.protocol import parse_frames
from runtime.errors import EngineError

if TYPE_CHECKING:
    from runtime.containers.manager import ContainerManager

Output = Callable[[bytes], Awaitable[None]]


async def create(manager: ContainerManager, body: Mapping[str, Any]) -> str:
    created = await manager.create(body)
    return str(created["Id"])


async def run(manager: ContainerManager, container_id: str, output: Output) -> int:
    """Start the created container, pass its output on, and return its exit code."""
    table = manager.table
    _record, attached = await attach.attach(table, container_id, stdin=False)
    result = waits.waiter(table, container_id, "next-exit")
    started = False
    if isinstance(attached, PendingAttach):  # not born at the attach: the start's birth hands the stream over
        try:
            await manager.start(container_id)  # raises why it cannot be born
        except BaseException:
            attached.abandoned = True
            raise
        await attached.ready.wait()
        if attached.sock is None:
            raise EngineError(500, f"container {container_id[:12]} could not be attached")
        attached, started = attached.sock, True
    stream = await anyio.abc.UNIXSocketStream.from_socket(attached)
    async with stream:
        if not started:
            await manager.start(container_id)
        await _pump(stream, output)
    answer = await result()
    return int(answer["StatusCode"])


async def _pump(stream: anyio.abc.SocketStream, output: Output) -> None:
    pending = b""
    with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        while True:
            pending += await stream.receive()
            frames, pending = parse_frames(pending)
            data = b"".join(payload for _stream, payload in frames)
            if data:
                await output(data)


def layer_writer(manager: ContainerManager, container_id: str) -> Callable[[BinaryIO], int]:
    """What commits the container's changes as a layer (called in a worker thread)."""
    record = manager.table.records.get(container_id)

    def write(out: BinaryIO) -> int:
        return snapshot.write_changes(record, out)

    return write


async def remove(manager: ContainerManager, container_id: str) -> None:
    with anyio.CancelScope(shield=True):
        await manager.remove(container_id, force=True, volumes=True)
