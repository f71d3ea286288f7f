"""Routes that read a container's file system: `docker cp` out (`GET /containers/{id}/archive`),
`docker export`, `docker diff` (`/changes`) and `docker commit` (`POST /commit`)."""

from __future__ import annotations

import base64
from typing import Any

from runtime.api.errors import bad_request
from runtime.api.http import Request, Response, json_bytes, json_response
from runtime.api.router import Route
from runtime.api.routes_containers import table_of
from runtime.containers import copy_out, snapshot
from runtime.engine import Engine


async def get_archive(engine: Engine, request: Request) -> Response:
    path = request.arg("path")
    if not path:
        raise bad_request("path is required")
    table = table_of(engine)
    record = table.records.get(request.params["id"])
    found, tar = await copy_out.get(table, record, path)
    table.emit(record, "archive-path")
    header = base64.b64encode(json_bytes(found).strip()).decode()
    return Response(200, tar, [("X-Docker-Container-Path-Stat", header), ("Content-Type", "application/x-tar")])


async def export_container(engine: Engine, request: Request) -> Response:
    table = table_of(engine)
    record = table.records.get(request.params["id"])
    tar = await copy_out.export(table, record)
    table.emit(record, "export")
    return Response(200, tar, [("Content-Type", "application/x-tar")])


async def container_changes(engine: Engine, request: Request) -> Response:
    found = await snapshot.changes(table_of(engine), request.params["id"])
    return json_response(found or None)


async def commit_container(engine: Engine, request: Request) -> Response:
    ref = request.arg("container")
    if not ref:
        raise bad_request("container is required")
    body: Any = await request.json()
    if body is not None and not isinstance(body, dict):
        raise bad_request("the commit config must be a JSON object")
    wanted = snapshot.CommitRequest(
        repo=request.arg("repo") or None, tag=request.arg("tag") or None, comment=request.arg("comment"),
        author=request.arg("author"), pause=request.flag("pause", True), changes=tuple(request.args("changes")),
        config=body)
    image_id = await snapshot.commit(table_of(engine), engine.images, ref, wanted)
    return json_response({"Id": image_id}, 201)


ROUTES: tuple[Route[Engine], ...] = (
    Route("GET", "/containers/{id}/archive", get_archive),
    Route("GET", "/containers/{id}/export", export_container),
    Route("GET", "/containers/{id}/changes", container_changes),
    Route("POST", "/commit", commit_container),
)
