"""Usage routes: a container's stats (one-shot and streamed), `update` of its limits, and `GET /system/df`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.to_thread

from runtime.api.errors import bad_request
from runtime.api.http import Request, Response, json_bytes, json_response
from runtime.api.router import Route
from runtime.api.routes_containers import table_of
from runtime.containers import stats, update, views
from runtime.engine import Engine


async def container_stats(engine: Engine, request: Request) -> Response:
    table = table_of(engine)
    record = table.records.get(request.params["id"])
    stream, one_shot = request.flag("stream", True), request.flag("one-shot")
    if stream and one_shot:
        raise bad_request("cannot have stream=true and one-shot=true")

    async def reading() -> stats.Reading | None:
        return await anyio.to_thread.run_sync(stats.collect, record)

    if not stream:
        first = await reading()
        if first is None or one_shot:
            return json_response(stats.render(record, first, None))
        await anyio.sleep(stats.INTERVAL)  # dockerd primes precpu_stats with the sample before
        return json_response(stats.render(record, await reading(), first))

    async def body() -> AsyncIterator[bytes]:
        previous = None
        while table.records.find(record.id) is record:
            current = await reading()
            yield json_bytes(stats.render(record, current, previous))
            previous = current
            await anyio.sleep(stats.INTERVAL)

    return Response(200, body(), [("Content-Type", "application/json")])


async def update_container(engine: Engine, request: Request) -> Response:
    body = await request.json()
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise bad_request("invalid JSON: the body must be an object")
    return json_response(await update.update(table_of(engine), request.params["id"], body))


def disk_usage(images: list[dict[str, Any]], layers: dict[str, list[tuple[str, int]]],
               containers: list[dict[str, Any]], volumes: list[dict[str, Any]]) -> dict[str, Any]:
    """Docker's SystemDataUsageResponse from the image, container and volume listings (pure)."""
    users: dict[str, int] = {}
    for c in containers:
        users[c["ImageID"]] = users.get(c["ImageID"], 0) + 1
    owners: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for chains in layers.values():
        for chain, size in dict(chains).items():
            owners[chain] = owners.get(chain, 0) + 1
            sizes[chain] = size
    out_images = []
    for image in images:
        shared = sum(size for chain, size in dict(layers.get(image["Id"], [])).items() if owners[chain] > 1)
        out_images.append({**image, "SharedSize": shared, "Containers": users.get(image["Id"], 0)})
    return {"LayersSize": sum(sizes.values()), "Images": out_images, "Containers": containers,
            "Volumes": volumes, "BuildCache": []}


async def system_df(engine: Engine, request: Request) -> Response:
    table = table_of(engine)
    wanted = set(request.args("type")) or {"container", "image", "volume", "build-cache"}
    unknown = wanted - {"container", "image", "volume", "build-cache"}
    if unknown:
        raise bad_request(f"unknown object type: {sorted(unknown)[0]}")

    def work() -> dict[str, Any]:
        containers = views.list_containers(table, True, {}, -1, {}, True)
        usage = disk_usage(engine.images.list_summaries(), engine.images.layer_sizes(), containers,
                           engine.volumes.usage() if "volume" in wanted else [])
        if "image" not in wanted:
            usage.update(LayersSize=0, Images=[])
        if "container" not in wanted:
            usage["Containers"] = []
        if "build-cache" in wanted:
            from runtime.build.usage import build_cache_usage

            usage["BuildCache"] = build_cache_usage(engine.root, engine.images, engine.image_in_use)
        return usage

    return json_response(await anyio.to_thread.run_sync(work))


ROUTES: tuple[Route[Engine], ...] = (
    Route("GET", "/containers/{id}/stats", container_stats),
    Route("POST", "/containers/{id}/update", update_container),
    Route("GET", "/system/df", system_df),
)
