"""Container routes: create, start, stop, kill, restart, wait, attach, resize, rename, remove, list,
inspect, logs, prune, and extracting an archive into one.

Handlers parse Docker's query parameters and call the container manager (lifecycle) or the
functions over its table (pause, attach, views, logs, copy);
`NotModified` becomes Docker's bodyless 304. Attach hijacks the connection
and relays it to the supervisor's stream.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

from runtime.api import detach
from runtime.api.bridge import sync_reader
from runtime.api.errors import EngineError, bad_request, not_implemented
from runtime.api.http import RawStream, Request, Response, empty_response, json_bytes, json_response
from runtime.api.relay import FrameFilter, relay, stream_content_type
from runtime.api.router import Route
from runtime.containers import attach as attaching
from runtime.containers import logs_read, pausing, top, views, waits
from runtime.containers.events import parse_time
from runtime.containers.manager import NotModified
from runtime.engine import Engine

if TYPE_CHECKING:
    from runtime.containers.manager import ContainerManager
    from runtime.containers.table import ContainerTable


def containers_of(engine: Engine) -> ContainerManager:
    manager = engine.containers
    if manager is None:
        raise EngineError(503, "containers are not available: the engine has no supervisor connection")
    if manager.supervision.recovering:
        raise manager.supervision.unavailable()
    return manager


def table_of(engine: Engine) -> ContainerTable:
    """The container table, when the container routes may answer (as `containers_of`)."""
    return containers_of(engine).table


def _int_arg(request: Request, name: str) -> int | None:
    text = request.arg(name)
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise bad_request(f"invalid value for {name}: {text!r}") from None


async def create_container(engine: Engine, request: Request) -> Response:
    body = await request.json()
    if not isinstance(body, dict):
        raise bad_request("config cannot be empty in order to create a container")
    result = await containers_of(engine).create(body, request.arg("name"))
    return json_response(result, 201)


async def start_container(engine: Engine, request: Request) -> Response:
    try:
        await containers_of(engine).start(request.params["id"])
    except NotModified:
        return empty_response(304)
    return empty_response(204)


async def stop_container(engine: Engine, request: Request) -> Response:
    timeout = _int_arg(request, "t")
    try:
        await containers_of(engine).stop(request.params["id"], timeout, request.arg("signal"))
    except NotModified:
        return empty_response(304)
    return empty_response(204)


async def restart_container(engine: Engine, request: Request) -> Response:
    await containers_of(engine).restart(request.params["id"], _int_arg(request, "t"), request.arg("signal"))
    return empty_response(204)


async def kill_container(engine: Engine, request: Request) -> Response:
    await containers_of(engine).kill(request.params["id"], request.arg("signal"))
    return empty_response(204)


async def pause_container(engine: Engine, request: Request) -> Response:
    await pausing.pause(table_of(engine), request.params["id"])
    return empty_response(204)


async def unpause_container(engine: Engine, request: Request) -> Response:
    await pausing.unpause(table_of(engine), request.params["id"])
    return empty_response(204)


async def wait_container(engine: Engine, request: Request) -> Response:
    # Registered before the answer starts: `docker run` starts the container right after.
    result = waits.waiter(table_of(engine), request.params["id"], request.arg("condition"))

    async def body() -> AsyncIterator[bytes]:
        yield b""  # headers now, as Docker flushes them before it waits
        yield json_bytes(await result())

    return Response(200, body(), [("Content-Type", "application/json")])


async def remove_container(engine: Engine, request: Request) -> Response:
    if request.flag("link"):
        raise bad_request("links are not supported by this engine")
    await containers_of(engine).remove(request.params["id"], request.flag("force"), request.flag("v"))
    return empty_response(204)


async def rename_container(engine: Engine, request: Request) -> Response:
    containers_of(engine).rename(request.params["id"], request.arg("name"))
    return empty_response(204)


async def resize_container(engine: Engine, request: Request) -> Response:
    rows, cols = _int_arg(request, "h") or 0, _int_arg(request, "w") or 0
    await attaching.resize(table_of(engine), request.params["id"], rows, cols)
    return empty_response(200)


async def list_containers(engine: Engine, request: Request) -> Response:
    table = table_of(engine)
    filters = request.filters()
    limit = _int_arg(request, "limit") or -1
    ancestors = filters.get("ancestor", [])
    image_ids = await anyio.to_thread.run_sync(lambda: _resolve_images(engine, ancestors)) if ancestors else {}
    size = request.flag("size")

    def work() -> list[dict[str, object]]:
        return views.list_containers(table, request.flag("all"), filters, limit, image_ids, size)

    return json_response(await anyio.to_thread.run_sync(work) if size else work())


def _resolve_images(engine: Engine, refs: list[str]) -> dict[str, str]:
    from runtime.images.errors import ImageError

    out = {}
    for ref in refs:
        try:
            out[ref] = engine.images.resolve(ref)
        except ImageError:
            out[ref] = ""
    return out


async def inspect_container(engine: Engine, request: Request) -> Response:
    table, ref, size = table_of(engine), request.params["id"], request.flag("size")
    if size:
        return json_response(await anyio.to_thread.run_sync(lambda: views.inspect(table, ref, True)))
    return json_response(views.inspect(table, ref))


async def top_container(engine: Engine, request: Request) -> Response:
    record = table_of(engine).records.get(request.params["id"])
    return json_response(await anyio.to_thread.run_sync(top.top, record, request.arg("ps_args")))


async def prune_containers(engine: Engine, request: Request) -> Response:
    manager = containers_of(engine)
    return json_response(await views.prune(manager.table, request.filters(), manager.remove))


async def container_logs(engine: Engine, request: Request) -> Response:
    table = table_of(engine)
    record = table.records.get(request.params["id"])
    stdout, stderr = request.flag("stdout"), request.flag("stderr")
    if not (stdout or stderr):
        raise bad_request("Bad parameters: you must choose at least one stream")
    source = logs_read.log_source(record.log_path, record.host_config.get("LogConfig"), record.bundle)
    if source is None:
        raise not_implemented("configured logging driver does not support reading")
    since = parse_time(request.arg("since"))
    selection = logs_read.Selection(
        stdout=stdout, stderr=stderr, since_ns=since or None, until_ns=parse_time(request.arg("until")),
        tail=logs_read.parse_tail(request.arg("tail")), timestamps=request.flag("timestamps"),
        details=request.flag("details"),
    )
    tty = bool(record.config.get("Tty"))
    path = source
    headers = [("Content-Type", stream_content_type(tty, request.api_version))]
    if request.flag("follow"):

        run = record.state.started_at

        def run_end() -> tuple[bool, int | None]:
            if table.records.find(record.id) is not record:
                return True, None  # removed
            if record.state.started_at != run:  # another run began: its lines are not this follow's
                return True, logs_read.parse_time_ns(record.state.started_at) or None
            return record.state.status not in ("running", "paused"), None

        async def followed() -> AsyncIterator[bytes]:
            yield b""
            async for chunk in logs_read.follow(path, selection, tty, run_end):
                yield chunk

        return Response(200, followed(), headers)
    chunks = await anyio.to_thread.run_sync(logs_read.history, path, selection, tty)
    return Response(200, b"".join(chunks), headers)


async def attach_container(engine: Engine, request: Request) -> Response:
    table = table_of(engine)
    stdin, stdout, stderr = request.flag("stdin"), request.flag("stdout"), request.flag("stderr")
    stream, logs = request.flag("stream"), request.flag("logs")
    if not (stream or logs):
        raise bad_request("Bad parameters: you must choose at least one stream")
    record = table.records.get(request.params["id"])
    keys = request.arg("detachKeys")
    try:
        detach_keys = detach.to_bytes(keys or detach.DEFAULT)
    except ValueError:
        raise bad_request(f"Invalid detach keys ({keys}) provided") from None
    tty = bool(record.config.get("Tty"))
    history: list[bytes] = []
    source = logs_read.log_source(record.log_path, record.host_config.get("LogConfig"), record.bundle)
    if logs and source is not None and (stdout or stderr):
        selection = logs_read.Selection(stdout=stdout, stderr=stderr)
        history = await anyio.to_thread.run_sync(logs_read.history, source, selection, tty)
    attached: socket.socket | attaching.PendingAttach | None = None
    if stream:
        record, attached = await attaching.attach(table, record.id, stdin)
    wanted = {s for s, on in ((1, stdout), (2, stderr)) if on}
    keep = None if tty or wanted == {1, 2} else FrameFilter(wanted)

    async def run(client: RawStream) -> None:
        sock = attached if isinstance(attached, socket.socket) else None
        try:
            for chunk in history:
                await client.send(chunk)
            if isinstance(attached, attaching.PendingAttach):  # not born yet: the start hands the stream over
                await attached.ready.wait()
                sock = attached.sock
            if sock is not None and await relay(client, sock, stdin, keep, detach_keys):
                table.emit(record, "detach")
        finally:
            if isinstance(attached, attaching.PendingAttach):
                attached.abandoned = True  # a later start hands it no stream
            if sock is not None:
                sock.close()

    return Response(200, headers=[("Content-Type", stream_content_type(tty, request.api_version))], hijack=run)


def _archive_path(request: Request) -> str:
    path = request.arg("path")
    if not path:
        raise bad_request("path is required")
    return path


async def stat_archive_path(engine: Engine, request: Request) -> Response:
    import base64

    from runtime.containers import copy_in

    table = table_of(engine)
    found = await copy_in.stat(table, table.records.get(request.params["id"]), _archive_path(request))
    header = base64.b64encode(json_bytes(found).strip()).decode()
    return Response(200, b"", [("X-Docker-Container-Path-Stat", header), ("Content-Type", "application/json")])


async def put_archive(engine: Engine, request: Request) -> Response:
    from runtime.containers import copy_in

    table = table_of(engine)
    record = table.records.get(request.params["id"])
    await copy_in.put(table, record, _archive_path(request), sync_reader(request.body.receive),
                      strict=request.flag("noOverwriteDirNonDir"), copy_uid_gid=request.flag("copyUIDGID"))
    table.emit(record, "extract-to-dir")
    return empty_response(200)


ROUTES: tuple[Route[Engine], ...] = (
    Route("POST", "/containers/create", create_container),
    Route("POST", "/containers/prune", prune_containers),
    Route("GET", "/containers/json", list_containers),
    Route("GET", "/containers/{id}/json", inspect_container),
    Route("GET", "/containers/{id}/logs", container_logs),
    Route("POST", "/containers/{id}/start", start_container),
    Route("POST", "/containers/{id}/stop", stop_container),
    Route("POST", "/containers/{id}/restart", restart_container),
    Route("POST", "/containers/{id}/kill", kill_container),
    Route("POST", "/containers/{id}/pause", pause_container),
    Route("GET", "/containers/{id}/top", top_container),
    Route("POST", "/containers/{id}/unpause", unpause_container),
    Route("POST", "/containers/{id}/wait", wait_container),
    Route("POST", "/containers/{id}/rename", rename_container),
    Route("POST", "/containers/{id}/resize", resize_container),
    Route("POST", "/containers/{id}/attach", attach_container),
    Route("PUT", "/containers/{id}/archive", put_archive),
    Route("HEAD", "/containers/{id}/archive", stat_archive_path),
    Route("DELETE", "/containers/{id}", remove_container),
)
