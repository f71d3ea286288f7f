"""An exec run to its end with its output collected (the Python API's `exec`); its body is compose/exec_body.py's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compose.client import EngineClient


async def exec_output(client: EngineClient, container: str, body: Mapping[str, Any]) -> tuple[int, str]:
    """Create and start an exec, collect stdout and stderr together, then its exit code."""
    import anyio

    from compose.client.multiplex import Demultiplexer

    exec_id = (await (await client.post(f"/containers/{container}/exec", json=dict(body))).json())["Id"]
    stream = await client.hijack("POST", f"/exec/{exec_id}/start", json={"Detach": False, "Tty": False})
    frames, chunks = Demultiplexer(), []
    async with stream:
        while True:
            try:
                data = await stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, ConnectionError):
                break
            if not data:
                break
            chunks += [payload for _, payload in frames.feed(data)]
    code = 0
    for _ in range(100):  # the stream may end a moment before the engine records the exit
        info = await (await client.get(f"/exec/{exec_id}/json")).json() or {}
        code = int(info.get("ExitCode") or 0)
        if not info.get("Running"):
            break
        await anyio.sleep(0.02)
    return code, b"".join(chunks).decode(errors="replace")
