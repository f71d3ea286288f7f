"""Image routes: list, inspect, history, tag, remove, prune, load, save, import.

Handlers parse the query the way Docker does and call the image store in a
worker thread (it does file and tar work); its errors carry Docker's status
codes themselves (ImageNotFound 404, ImageConflict 409, ImageInvalid 400), a
ValueError is a 400.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import BinaryIO, NoReturn, TypeVar

import anyio.to_thread

from runtime.api.bridge import stream_from_writer, sync_reader
from runtime.api.errors import EngineError, bad_request, not_implemented
from runtime.api.http import Request, Response, empty_response, json_response, json_stream
from runtime.api.router import Route
from runtime.engine import Engine

T = TypeVar("T")


def store_error(exc: Exception) -> Exception:
    """The API error for a store exception: the store's own errors are EngineErrors already, a
    ValueError (bad input found deep in the store) is a 400; others pass through."""
    if isinstance(exc, ValueError):
        return bad_request(str(exc))
    return exc


def reraise(exc: Exception) -> NoReturn:
    """Raise the API error for a store exception."""
    error = store_error(exc)
    if error is exc:
        raise exc
    raise error from exc


async def in_thread(work: Callable[[], T]) -> T:
    """Run store work in a worker thread, with store errors as API errors."""
    try:
        return await anyio.to_thread.run_sync(work)
    except Exception as exc:
        reraise(exc)


async def list_images(engine: Engine, request: Request) -> Response:
    filters = request.filters()
    # Clients before API 1.25 name the reference filter `filter`.
    if legacy := request.arg("filter"):
        filters.setdefault("reference", []).append(legacy)
    show_all = request.flag("all")
    return json_response(await in_thread(lambda: engine.images.list_summaries(show_all, filters)))


async def inspect_image(engine: Engine, request: Request) -> Response:
    name = request.params["name"]
    return json_response(await in_thread(lambda: engine.images.inspect(name)))


async def image_history(engine: Engine, request: Request) -> Response:
    name = request.params["name"]
    return json_response(await in_thread(lambda: engine.images.history(name)))


async def tag_image(engine: Engine, request: Request) -> Response:
    name, repo, tag = request.params["name"], request.arg("repo"), request.arg("tag")
    await in_thread(lambda: engine.images.tag(name, repo, tag))
    return empty_response(201)


async def remove_image(engine: Engine, request: Request) -> Response:
    name, force, noprune = request.params["name"], request.flag("force"), request.flag("noprune")
    return json_response(await in_thread(lambda: engine.images.remove(name, force, noprune, engine.image_in_use)))


def dangling_only(filters: dict[str, list[str]]) -> bool:
    """Docker's prune rule: dangling images only, unless `dangling=false`."""
    values = filters.pop("dangling", None)
    if values is None:
        return True
    if all(v.lower() in ("true", "1") for v in values):
        return True
    if all(v.lower() in ("false", "0") for v in values):
        return False
    raise bad_request(f"invalid filter 'dangling={','.join(values)}'")


async def prune_images(engine: Engine, request: Request) -> Response:
    filters = request.filters()
    only_dangling = dangling_only(filters)
    report = await in_thread(lambda: engine.images.prune(only_dangling, filters, engine.image_in_use))
    return json_response(report)


async def load_images(engine: Engine, request: Request) -> Response:
    """As dockerd: once the archive is being read the answer is 200, and a failure to load it
    is the stream's last message (`errorDetail`), which is what clients parse."""
    archive = sync_reader(request.body.receive)
    try:
        messages = await in_thread(lambda: engine.images.load(archive))
    except EngineError as exc:
        return json_stream([{"errorDetail": {"message": exc.message}, "error": exc.message}])
    return json_stream({"stream": m if m.endswith("\n") else m + "\n"} for m in messages)


async def save_image(engine: Engine, request: Request) -> Response:
    return _tar_response(engine, request, [request.params["name"]])


async def save_images(engine: Engine, request: Request) -> Response:
    names = request.args("names")
    if not names:
        raise bad_request("no images given: use names=<image>")
    return _tar_response(engine, request, names)


def _tar_response(engine: Engine, request: Request, refs: list[str]) -> Response:
    def produce(out: BinaryIO) -> None:
        engine.images.save(refs, out)

    return Response(200, _mapped(stream_from_writer(request.tasks, produce)), [("Content-Type", "application/x-tar")])


async def create_image(engine: Engine, request: Request) -> Response:
    source = request.arg("fromSrc")
    if request.arg("fromImage"):
        from runtime.api.routes_registry import pull_image

        return await pull_image(engine, request)
    if not source:
        raise bad_request("fromImage or fromSrc is required")
    if source != "-":
        raise not_implemented("importing from a URL is not supported: use fromSrc=- and send the archive")
    rootfs = sync_reader(request.body.receive)
    repo, tag, message = request.arg("repo"), request.arg("tag"), request.arg("message")
    changes = request.args("changes")
    image_id = await in_thread(lambda: engine.images.import_rootfs(rootfs, repo, tag, changes, message))
    return json_stream([{"status": image_id}])


async def _mapped(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Store errors raised while streaming, as API errors."""
    try:
        async for chunk in chunks:
            yield chunk
    except Exception as exc:
        reraise(exc)
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]


ROUTES: tuple[Route[Engine], ...] = (
    Route("GET", "/images/json", list_images),
    Route("POST", "/images/create", create_image),
    Route("POST", "/images/load", load_images),
    Route("GET", "/images/get", save_images),
    Route("POST", "/images/prune", prune_images),
    Route("GET", "/images/{name:.*}/json", inspect_image),
    Route("GET", "/images/{name:.*}/history", image_history),
    Route("GET", "/images/{name:.*}/get", save_image),
    Route("POST", "/images/{name:.*}/tag", tag_image),
    Route("DELETE", "/images/{name:.*}", remove_image),
)
