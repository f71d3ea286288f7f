"""Volume routes: list, create, inspect, remove, prune.

Handlers take the volume store from their context as `ctx.volumes` and
call it in a worker thread (it does file work, mounts and deletions). The
store raises Docker's errors itself (VolumeError is an EngineError): 404
no such volume, 409 in use, 400 bad name/option/filter, 500 mount failure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import anyio.to_thread

from runtime.api.errors import bad_request
from runtime.api.http import Request, Response, empty_response, json_response
from runtime.api.router import Route, version_tuple

if TYPE_CHECKING:
    from runtime.volumes.local import VolumeStore

T = TypeVar("T")
# API 1.42 made prune take anonymous volumes only; older clients still mean all unused ones.
PRUNE_ANONYMOUS_SINCE = (1, 42)


class VolumeContext(Protocol):
    @property
    def volumes(self) -> VolumeStore: ...


async def in_thread(work: Callable[[], T]) -> T:
    return await anyio.to_thread.run_sync(work)


async def list_volumes(ctx: VolumeContext, request: Request) -> Response:
    filters = request.filters()
    return json_response(await in_thread(lambda: ctx.volumes.list_volumes(filters)))


async def create_volume(ctx: VolumeContext, request: Request) -> Response:
    body = await request.json()
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise bad_request("invalid volume configuration: expected a JSON object")
    name = _text(body, "Name")
    driver = _text(body, "Driver")
    options = _strings(body, "DriverOpts")
    labels = _strings(body, "Labels")
    volume = await in_thread(lambda: ctx.volumes.create(name, driver, options, labels))
    return json_response(volume, 201)


async def inspect_volume(ctx: VolumeContext, request: Request) -> Response:
    name = request.params["name"]
    return json_response(await in_thread(lambda: ctx.volumes.inspect(name)))


async def remove_volume(ctx: VolumeContext, request: Request) -> Response:
    name, force = request.params["name"], request.flag("force")
    await in_thread(lambda: ctx.volumes.remove(name, force))
    return empty_response(204)


async def prune_volumes(ctx: VolumeContext, request: Request) -> Response:
    filters = request.filters()
    if request.api_version is not None and version_tuple(request.api_version) < PRUNE_ANONYMOUS_SINCE:
        filters["all"] = ["true"]
    return json_response(await in_thread(lambda: ctx.volumes.prune(filters)))


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise bad_request(f"invalid volume configuration: {key} must be a string")
    return value


def _strings(body: Mapping[str, Any], key: str) -> dict[str, str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise bad_request(f"invalid volume configuration: {key} must map strings to strings")
    return dict(value)


# Any: the routes need only `.volumes` of their context, so they join the engine's table as they are.
ROUTES: tuple[Route[Any], ...] = (
    Route("GET", "/volumes", list_volumes),
    Route("POST", "/volumes/create", create_volume),
    Route("POST", "/volumes/prune", prune_volumes),
    Route("GET", "/volumes/{name}", inspect_volume),
    Route("DELETE", "/volumes/{name}", remove_volume),
)
