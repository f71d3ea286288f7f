"""Routing, Docker's version prefix and negotiation, error conversion."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from runtime.api.errors import EngineError, conflict
from runtime.api.http import Request, Response, json_response
from runtime.api.router import Route, Router, check_version, compile_pattern, split_version


class _NoBody:
    async def receive(self) -> bytes:
        return b""


async def call(router: Router[Any], method: str, path: str) -> tuple[Response, Request]:
    async with anyio.create_task_group() as tasks:
        request = Request(method, path, {}, {}, _NoBody(), tasks)
        return await router(request), request


async def show(ctx: str, request: Request) -> Response:
    return json_response({"ctx": ctx, "params": request.params, "path": request.path})


async def refuse(ctx: str, request: Request) -> Response:
    raise conflict("already there")


async def own_header(ctx: str, request: Request) -> Response:
    return Response(200, b"", [("Api-Version", "mine")])


ROUTER = Router(
    "engine",
    [
        Route("GET", "/images/json", show),
        Route("GET", "/images/{name:.*}/json", show),
        Route("DELETE", "/images/{name:.*}", show),
        Route("GET", "/containers/{id}/top", show),
        Route("POST", "/refuse", refuse),
        Route("GET", "/own", own_header),
    ],
    [("Api-Version", "1.45"), ("Server", "test")],
)

pytestmark = pytest.mark.anyio


def test_compile_pattern_segments_and_rest() -> None:
    assert compile_pattern("/containers/{id}/top").fullmatch("/containers/abc/top")
    assert not compile_pattern("/containers/{id}/top").fullmatch("/containers/a/b/top")
    m = compile_pattern("/images/{name:.*}/json").fullmatch("/images/library/busybox:1.36/json")
    assert m is not None and m.group("name") == "library/busybox:1.36"


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/v1.45/info", ("1.45", "/info")), ("/info", (None, "/info")), ("/v1/x", ("1", "/x"))],
)
def test_split_version(path: str, expected: tuple[str | None, str]) -> None:
    assert split_version(path) == expected


def test_version_bounds_use_dockers_messages() -> None:
    check_version("1.45")
    check_version("1.24")
    with pytest.raises(EngineError) as new:
        check_version("1.46")
    assert new.value.status == 400
    assert str(new.value) == "client version 1.46 is too new. Maximum supported API version is 1.45"
    with pytest.raises(EngineError) as old:
        check_version("1.23")
    assert "client version 1.23 is too old. Minimum supported API version is 1.24" in str(old.value)
    with pytest.raises(EngineError):
        check_version("1.x")


async def test_routes_match_with_and_without_prefix() -> None:
    for path in ("/images/json", "/v1.41/images/json"):
        response, request = await call(ROUTER, "GET", path)
        assert response.status == 200
        assert request.path == "/images/json"
    response, request = await call(ROUTER, "GET", "/v1.45/images/docker.io/library/redis:7/json")
    assert isinstance(response.body, bytes)
    assert json.loads(response.body)["params"] == {"name": "docker.io/library/redis:7"}
    assert request.api_version == "1.45"


async def test_unknown_path_or_method_is_page_not_found() -> None:
    for method, path in (("GET", "/nowhere"), ("POST", "/images/json"), ("GET", "/v1.45/")):
        response, _ = await call(ROUTER, method, path)
        assert response.status == 404
        assert response.body == b'{"message":"page not found"}\n'


async def test_too_new_version_is_400() -> None:
    response, _ = await call(ROUTER, "GET", "/v1.99/images/json")
    assert response.status == 400


async def test_engine_error_becomes_json_with_common_headers() -> None:
    response, _ = await call(ROUTER, "POST", "/refuse")
    assert response.status == 409
    assert response.body == b'{"message":"already there"}\n'
    assert ("Server", "test") in response.headers
    assert ("Content-Type", "application/json") in response.headers


async def test_handler_headers_win_over_common_ones() -> None:
    response, _ = await call(ROUTER, "GET", "/own")
    assert [v for k, v in response.headers if k == "Api-Version"] == ["mine"]


async def test_other_exceptions_reach_the_server() -> None:
    async def explode(ctx: str, request: Request) -> Response:
        raise KeyError("x")

    with pytest.RaisesGroup(KeyError):
        await call(Router("c", [Route("GET", "/x", explode)]), "GET", "/x")
