"""The HTTP/1.1 server: framing, keep-alive, streaming, errors, hijack."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest

from runtime.api import server
from tests.runtime.api.apps import make_app
from tests.runtime.api.inprocess import raw_exchange, serving, short_dir

pytestmark = pytest.mark.anyio


@pytest.fixture
def sock() -> Iterator[Path]:
    with short_dir() as d:
        yield d / "api.sock"


@pytest.fixture
async def api(sock: Path) -> AsyncIterator[Path]:
    async with serving(make_app(), sock):
        yield sock


def split_response(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status, headers, body


def dechunk(body: bytes) -> bytes:
    out = b""
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return out
        out, body = out + body[:size], body[size + 2 :]


async def test_json_response_with_length_and_common_headers(api: Path) -> None:
    raw = await raw_exchange(api, b"GET /v1.44/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, headers, body = split_response(raw)
    assert status == "HTTP/1.1 200 OK"
    assert headers["content-type"] == "application/json"
    assert headers["content-length"] == str(len(body))
    assert headers["server"] == "test" and headers["api-version"] == "1.45"
    assert json.loads(body) == {"hello": "world", "version": "1.44"}


async def test_head_sends_no_body(api: Path) -> None:
    raw = await raw_exchange(api, b"HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, headers, body = split_response(raw)
    assert status.startswith("HTTP/1.1 200") and body == b""
    assert int(headers["content-length"]) > 0


async def test_keep_alive_serves_pipelined_requests(api: Path) -> None:
    one = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
    two = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde"
    three = b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    raw = await raw_exchange(api, one + two + three)
    assert raw.count(b"HTTP/1.1 ") == 3
    assert b"HTTP/1.1 200 OK" in raw and raw.endswith(b'{"message":"page not found"}\n')
    assert b"\r\n\r\nabcde" in raw


async def test_chunked_request_body_is_streamed(api: Path) -> None:
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    raw = await raw_exchange(
        api, b"POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + body
    )
    assert json.loads(split_response(raw)[2]) == {"bytes": 11}


async def test_expect_100_continue_is_answered(api: Path) -> None:
    async with await anyio.connect_unix(api) as stream:
        await stream.send(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n"
            b"Connection: close\r\n\r\n"
        )
        with anyio.fail_after(5):
            first = await stream.receive()
        assert first.startswith(b"HTTP/1.1 100")
        await stream.send(b"abc")
        rest = b""
        with anyio.fail_after(5):
            while True:
                try:
                    rest += await stream.receive()
                except anyio.EndOfStream:
                    break
    assert split_response(rest)[2] == b"abc"


async def test_streamed_response_is_chunked_and_skips_empty_chunks(api: Path) -> None:
    raw = await raw_exchange(api, b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    _, headers, body = split_response(raw)
    assert headers["transfer-encoding"] == "chunked"
    assert dechunk(body) == b"one\ntwo\nthree\n"


async def test_stream_failing_before_first_chunk_becomes_error_status(api: Path) -> None:
    raw = await raw_exchange(api, b"GET /fail-first HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, _, body = split_response(raw)
    assert status == "HTTP/1.1 404 Not Found"
    assert json.loads(body) == {"message": "nothing to stream"}


async def test_stream_failing_later_cuts_the_connection(api: Path) -> None:
    raw = await raw_exchange(api, b"GET /fail-later HTTP/1.1\r\nHost: x\r\n\r\n")
    status, _, body = split_response(raw)
    assert status.startswith("HTTP/1.1 200")
    assert b"partial" in body and not body.endswith(b"0\r\n\r\n")


async def test_handler_exception_is_500_json(api: Path) -> None:
    raw = await raw_exchange(api, b"GET /boom HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, headers, body = split_response(raw)
    assert status.startswith("HTTP/1.1 500")
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"message": "handler exploded"}


async def test_malformed_request_gets_400(api: Path) -> None:
    raw = await raw_exchange(api, b"THIS IS NOT HTTP\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400")


async def test_unread_body_is_drained_and_connection_kept(api: Path) -> None:
    first = b"POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"
    second = b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    raw = await raw_exchange(api, first + second)
    assert raw.startswith(b"HTTP/1.1 204") and b'"hello":"world"' in raw


async def test_huge_unread_body_closes_the_connection(api: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "DRAIN_LIMIT", 4)
    first = b"POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"
    second = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
    raw = await raw_exchange(api, first + second)
    assert raw.startswith(b"HTTP/1.1 204") and raw.count(b"HTTP/1.1") == 1


async def test_hijack_with_upgrade_switches_to_raw_bytes(api: Path) -> None:
    body = b'{"greeting":"hi"}'
    request = (
        b"POST /v1.45/hijack HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    # Bytes sent right behind the request must reach the handler too.
    raw = await raw_exchange(api, request + body + b"early ")
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 101 UPGRADED"
    assert b"Connection: Upgrade" in lines and b"Upgrade: tcp" in lines
    assert b"Content-Type: application/vnd.docker.raw-stream" in lines
    assert rest == b"hi\nEARLY bye\n"


async def test_hijack_is_interactive_with_half_close(api: Path) -> None:
    request = b"POST /hijack HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"
    async with await anyio.connect_unix(api) as stream:
        await stream.send(request)
        got = b""
        with anyio.fail_after(5):
            while not got.endswith(b"hello\n"):
                got += await stream.receive()
            await stream.send(b"ping")
            while not got.endswith(b"PING"):
                got += await stream.receive()
            await stream.send_eof()
            while not got.endswith(b"bye\n"):
                got += await stream.receive()
    assert got.startswith(b"HTTP/1.1 101 UPGRADED\r\n")


async def test_hijack_without_upgrade_header_gets_docker_200(api: Path) -> None:
    raw = await raw_exchange(api, b"POST /hijack HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nxy")
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Type: application/vnd.docker.raw-stream" in head
    assert rest == b"hello\nXYbye\n"


async def test_client_vanishing_mid_body_does_not_stop_the_server(api: Path) -> None:
    async with await anyio.connect_unix(api) as stream:
        await stream.send(b"POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
    raw = await raw_exchange(api, b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 200")


async def test_connections_are_served_concurrently(api: Path) -> None:
    async with await anyio.connect_unix(api) as slow:
        # An upload left half-way must not hold other clients up.
        await slow.send(b"POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        with anyio.fail_after(5):
            raw = await raw_exchange(api, b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert raw.startswith(b"HTTP/1.1 200")
