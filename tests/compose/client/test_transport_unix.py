"""compose.client.transport.connect_unix: a connect that waits for room in the engine's accept
backlog and is cancelled just as the room comes leaves nothing behind. anyio's own left a callback
that set the cancelled future: asyncio printed "Exception in callback ... InvalidStateError" on
the user's terminal (parallel pulls, one failing, cancelled the others)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import anyio

from compose.client.transport import connect_unix


def _full_backlog(path: str) -> tuple[socket.socket, list[socket.socket]]:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(0)
    waiting = []
    while True:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.setblocking(False)
        try:
            client.connect(path)
        except BlockingIOError:
            client.close()
            return server, waiting
        waiting.append(client)


def test_a_connect_cancelled_as_the_backlog_makes_room(tmp_path: Path) -> None:
    path = str(tmp_path / "engine.sock")
    server, waiting = _full_backlog(path)
    errors: list[dict[str, Any]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: errors.append(context))
        scope = anyio.CancelScope()

        async def connecting() -> None:
            with scope:
                await connect_unix(path)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(connecting)
            await anyio.sleep(0.05)  # it waits: no room
            for _ in waiting:
                server.accept()[0].close()  # room, which the loop's next poll reports
            await anyio.sleep(0)  # back before the connect's wake-up runs
            scope.cancel()
        await anyio.sleep(0.05)
        stream = await connect_unix(path)  # room: connected
        peer, _ = server.accept()
        await stream.send(b"x")
        assert peer.recv(1) == b"x"
        await stream.aclose()
        peer.close()

    try:
        anyio.run(main)
    finally:
        server.close()
        for client in waiting:
            client.close()
    assert errors == []
