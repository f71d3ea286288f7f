"""The Engine API client against an in-process server and a private engine."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest

from compose.client import (
    EngineClient,
    EngineConnectionError,
    EngineError,
    ping_sync,
    run_sync,
    socket_path,
)
from compose.client.client import encode_params
from tests.engine_fixture import start_private_engine
from tests.runtime.api.apps import make_app
from tests.runtime.api.inprocess import serving, short_dir


@pytest.fixture
def sock() -> Iterator[Path]:
    with short_dir() as d:
        yield d / "api.sock"


@pytest.fixture
async def client(sock: Path) -> AsyncIterator[EngineClient]:
    async with EngineClient(f"unix://{sock}", api_version="1.45") as c, serving(make_app(), sock):
        yield c


def test_params_are_encoded_like_docker() -> None:
    query = encode_params({"all": True, "force": False, "names": ["a:1", "b/c"], "skip": None,
                           "filters": {"label": ["x=y"]}, "limit": 5})
    assert query == ("all=1&force=0&names=a%3A1&names=b%2Fc"
                     "&filters=%7B%22label%22%3A%5B%22x%3Dy%22%5D%7D&limit=5")
    assert encode_params(None) == ""


def test_targets_carry_the_version_prefix_and_quote_names() -> None:
    c = EngineClient("unix:///tmp/x.sock")
    assert c.target("/images/library/a b:1/json") == "/v1.45/images/library/a%20b:1/json"
    assert c.target("/_ping", versioned=False) == "/_ping"
    assert c.target("/images/json", {"all": True}) == "/v1.45/images/json?all=1"


def test_hosts() -> None:
    assert socket_path("unix:///run/x.sock") == "/run/x.sock"
    assert socket_path("/run/x.sock") == "/run/x.sock"
    with pytest.raises(EngineConnectionError, match="only unix://"):
        socket_path("tcp://1.2.3.4:2375")


@pytest.mark.anyio
async def test_json_and_keep_alive_reuse(client: EngineClient) -> None:
    first = await client.get("/hello")
    assert first.status == 200 and first.header("Server") == "test"
    assert await first.json() == {"hello": "world", "version": "1.45"}
    (conn,) = client._idle
    response = await client.post("/echo", body=b"payload")
    assert await response.read() == b"payload"
    assert client._idle == [conn]


@pytest.mark.anyio
async def test_json_body_and_streamed_upload(client: EngineClient) -> None:
    response = await client.post("/echo", json={"a": [1, 2]})
    assert json.loads(await response.read()) == {"a": [1, 2]}

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"x" * 1000

    response = await client.post("/count", body=chunks())
    assert await response.json() == {"bytes": 100_000}


@pytest.mark.anyio
async def test_streamed_response(client: EngineClient) -> None:
    response = await client.get("/stream")
    assert response.header("transfer-encoding") == "chunked"
    assert b"".join([chunk async for chunk in response.stream()]) == b"one\ntwo\nthree\n"


@pytest.mark.anyio
async def test_progress_stream_error_is_raised(client: EngineClient) -> None:
    response = await client.get("/progress")
    seen = []
    with pytest.raises(EngineError, match="it broke"):
        async for message in response.json_stream():
            seen.append(message["status"])
    assert seen == ["one", "two"]


@pytest.mark.anyio
async def test_error_statuses_become_engine_errors(client: EngineClient) -> None:
    with pytest.raises(EngineError) as missing:
        await client.get("/nowhere")
    assert (missing.value.status, str(missing.value)) == (404, "page not found")
    with pytest.raises(EngineError) as failed:
        await client.get("/boom")
    assert (failed.value.status, failed.value.message) == (500, "handler exploded")
    # The connection survives error answers.
    assert await (await client.get("/hello")).json()


@pytest.mark.anyio
async def test_head(client: EngineClient) -> None:
    response = await client.head("/hello")
    assert response.status == 200 and await response.read() == b""


@pytest.mark.anyio
async def test_concurrent_requests_share_a_small_pool(sock: Path) -> None:
    async with EngineClient(f"unix://{sock}", api_version="1.45", pool_size=2) as c, serving(make_app(), sock):
        results = []

        async def one(i: int) -> None:
            body = await (await c.post("/echo", body=str(i).encode())).read()
            results.append(int(body))

        async with anyio.create_task_group() as tasks:
            for i in range(10):
                tasks.start_soon(one, i)
        assert sorted(results) == list(range(10))
        assert len(c._idle) <= 2


@pytest.mark.anyio
async def test_stale_keep_alive_connection_is_retried(sock: Path) -> None:
    async with EngineClient(f"unix://{sock}", api_version="1.45") as c:
        async with serving(make_app(), sock):
            await (await c.get("/hello")).read()
        (old,) = c._idle
        sock.unlink()
        # The engine restarted: the pooled connection is dead, the request is not lost.
        async with serving(make_app(), sock):
            assert await (await c.get("/hello")).json() == {"hello": "world", "version": "1.45"}
            assert c._idle and c._idle[0] is not old


@pytest.mark.anyio
async def test_unreachable_engine(sock: Path) -> None:
    async with EngineClient(f"unix://{sock}", api_version="1.45") as c:
        with pytest.raises(EngineConnectionError, match="no such socket") as err:
            await c.get("/hello")
        assert err.value.status == 0


@pytest.mark.anyio
async def test_hijack_gives_a_raw_stream(client: EngineClient) -> None:
    raw = await client.hijack("POST", "/hijack", json={"greeting": "yo"})
    async with raw:
        got = b""
        with anyio.fail_after(5):
            while got != b"yo\n":
                got += await raw.receive()
            await raw.send(b"abc")
            while got != b"yo\nABC":
                got += await raw.receive()
            await raw.send_eof()
            while got != b"yo\nABCbye\n":
                got += await raw.receive()


@pytest.mark.anyio
async def test_hijack_refused_is_an_engine_error(client: EngineClient) -> None:
    with pytest.raises(EngineError) as err:
        await client.hijack("POST", "/nowhere")
    assert err.value.status == 404


def test_sync_helpers_against_a_private_engine(tmp_path: Path) -> None:
    engine = start_private_engine(tmp_path)
    try:
        assert ping_sync(engine.host) == "1.45"

        async def both(c: EngineClient) -> tuple[str, dict[str, object]]:
            return await c.ping(), await c.version()

        api, version = run_sync(engine.host, both)
        assert api == "1.45" and version["ApiVersion"] == "1.45"
    finally:
        engine.stop()
    assert ping_sync(engine.host) is None
