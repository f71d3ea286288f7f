"""Exec routes: create an exec in a running container, start it (hijacked), inspect, resize."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import anyio

from runtime.api.detach import DEFAULT as DEFAULT_DETACH_KEYS
from runtime.api.detach import to_bytes as detach_bytes
from runtime.api.errors import bad_request
from runtime.api.http import RawStream, Request, Response, empty_response, json_response
from runtime.api.relay import relay, stream_content_type
from runtime.api.router import Route
from runtime.api.routes_containers import table_of
from runtime.containers import exec_lifecycle
from runtime.containers.logs_read import frame
from runtime.engine import Engine

if TYPE_CHECKING:
    from runtime.containers.table import ContainerTable

# After the output ends, how long the exit code may take to be reported: the
# client asks for it (GET /exec/{id}/json) as soon as its stream closes.
EXIT_REPORT_WAIT = 5.0


async def create_exec(engine: Engine, request: Request) -> Response:
    body = await request.json()
    if not isinstance(body, dict):
        raise bad_request("exec config must be a JSON object")
    keys = body.get("DetachKeys") or ""
    try:
        detach_bytes(keys or DEFAULT_DETACH_KEYS)
    except (ValueError, AttributeError):
        raise bad_request(f"Invalid escape keys ({keys}) provided") from None
    entry = exec_lifecycle.create_exec(table_of(engine), request.params["id"], body)
    return json_response({"Id": entry.id}, 201)


async def start_exec(engine: Engine, request: Request) -> Response:
    table = table_of(engine)
    body = await request.json() or {}
    detach = bool(body.get("Detach"))
    record, entry = exec_lifecycle.claim_exec(table, request.params["id"])
    size = body.get("ConsoleSize") or entry.config.get("ConsoleSize")
    console = (int(size[0]), int(size[1])) if entry.tty and isinstance(size, list) and len(size) == 2 else None
    if detach:
        sock = await exec_lifecycle.run_exec(table, record, entry, stdin=False)
        sock.close()
        return empty_response(200)
    stdin = bool(entry.config.get("AttachStdin"))
    keys = str(entry.config.get("DetachKeys") or "")

    async def run(client: RawStream) -> None:
        # As Docker does, the process starts once the client has the upgrade answer: output sent
        # along with the answer would be lost by clients that read the answer through a buffer.
        try:
            sock = await exec_lifecycle.run_exec(table, record, entry, stdin)
        except Exception as exc:
            # Docker writes the failure as output: framed as stdout unless there is a TTY.
            message = f"{exc}\r\n".encode()
            await client.send(message if entry.tty else frame("stdout", message))
            return
        if console is not None and all(console):
            await _quiet_resize(table, entry.id, *console)
        try:
            detached = await relay(client, sock, stdin, None, detach_bytes(keys or DEFAULT_DETACH_KEYS))
        finally:
            sock.close()
        if detached:
            return  # the process runs on; the client only leaves it
        with anyio.move_on_after(EXIT_REPORT_WAIT):
            await entry.done.wait()

    return Response(200, headers=[("Content-Type", stream_content_type(entry.tty, request.api_version))], hijack=run)


async def _quiet_resize(table: ContainerTable, exec_id: str, rows: int, cols: int) -> None:
    # The process may be gone already; the client resizes again anyway.
    with contextlib.suppress(Exception):
        await exec_lifecycle.resize_exec(table, exec_id, rows, cols)


async def inspect_exec(engine: Engine, request: Request) -> Response:
    return json_response(table_of(engine).execs.get(request.params["id"]).inspect())


async def resize_exec(engine: Engine, request: Request) -> Response:
    try:
        rows, cols = int(request.arg("h") or 0), int(request.arg("w") or 0)
    except ValueError:
        raise bad_request("invalid h or w: numbers expected") from None
    await exec_lifecycle.resize_exec(table_of(engine), request.params["id"], rows, cols)
    return empty_response(200)


ROUTES: tuple[Route[Engine], ...] = (
    Route("POST", "/containers/{id}/exec", create_exec),
    Route("POST", "/exec/{id}/start", start_exec),
    Route("GET", "/exec/{id}/json", inspect_exec),
    Route("POST", "/exec/{id}/resize", resize_exec),
)
