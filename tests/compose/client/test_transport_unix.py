"""compose.client.transport.connect_unix against an engine socket whose accept backlog is full:
it connects once there is room, and a connect cancelled meanwhile leaves nothing behind (anyio's
own spun on the socket, and left a callback that set the cancelled future: asyncio printed
"Exception in callback ... InvalidStateError" on the user's terminal when parallel pulls, one
failing, cancelled the others)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import anyio

from compose.client.transport import connect_unix


def _listening(path: str) -> socket.socket:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(0)
    return server


def _fill(path: str) -> list[socket.socket]:
    """Connections that fill the accept backlog of the socket at `path` (not accepted)."""
    waiting = []
    while True:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.setblocking(False)
        try:
            client.connect(path)
        except BlockingIOError:
            client.close()
            return waiting
        waiting.append(client)


def test_a_connect_waits_for_room_and_can_be_cancelled(tmp_path: Path) -> None:
    path = str(tmp_path / "engine.sock")
    server = _listening(path)
    waiting = _fill(path)
    errors: list[dict[str, Any]] = []
    accepted: list[socket.socket] = []

    def accept_all() -> None:
        server.setblocking(False)
        while True:
            try:
                accepted.append(server.accept()[0])
            except BlockingIOError:
                return

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: errors.append(context))
        with anyio.fail_after(10):
            scope = anyio.CancelScope()

            async def connecting() -> None:
                with scope:
                    await connect_unix(path)

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(connecting)
                await anyio.sleep(0.05)  # it waits: no room
                accept_all()  # room, which the loop's next poll reports
                await anyio.sleep(0)  # back before the connect's wake-up runs
                scope.cancel()
            accept_all()  # what it may have connected meanwhile
            waiting.extend(_fill(path))

            async def room_later() -> None:
                await anyio.sleep(0.05)
                accept_all()

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(room_later)
                stream = await connect_unix(path)  # waits for room, then connects
            accept_all()
            await stream.send(b"x")
            assert accepted[-1].recv(1) == b"x"
            await stream.aclose()

    try:
        anyio.run(main)
    finally:
        for sock in (server, *waiting, *accepted):
            sock.close()
    assert errors == []

