"""The embedded DNS server's TCP side against clients that hold connections."""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import socket

import anyio
import anyio.abc
import dns.asyncquery
import dns.message
import pytest

from runtime.connections import ConnectionLimits
from runtime.network.dns import DnsServer, Records

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

WHERE = "127.0.0.2"


def _records() -> Records:
    records = Records()
    records.add("me", "front", "127.0.0.1", ["me"])  # the querier: loopback clients come from 127.0.0.1
    records.add("peer", "front", "127.0.0.5", ["peer"])
    return records


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((WHERE, 0))
        return int(s.getsockname()[1])


async def _lookup_peer(port: int) -> list[str]:
    answer = await dns.asyncquery.tcp(dns.message.make_query("peer", "A"), WHERE, port=port, timeout=10)
    return [str(x) for x in answer.answer[0]]


async def _closed_by_server(stream: anyio.abc.SocketStream, within: float) -> bool:
    with anyio.move_on_after(within):
        try:
            await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            return True
    return False


async def test_idle_tcp_clients_are_closed_after_the_timeout() -> None:
    port = _free_port()
    limits = ConnectionLimits(idle_timeout=0.5, max_connections=16)
    async with DnsServer(_records(), port=port, tcp_limits=limits) as server:
        await server.add_listener(WHERE)
        async with await anyio.connect_tcp(WHERE, port) as silent, await anyio.connect_tcp(WHERE, port) as asked:
            query = dns.message.make_query("peer", "A").to_wire()
            await asked.send(len(query).to_bytes(2, "big") + query)
            answer = await asked.receive()
            assert dns.message.from_wire(answer[2:]).answer
            began = anyio.current_time()
            assert await _closed_by_server(asked, within=5)
            assert anyio.current_time() - began >= 0.45
            assert await _closed_by_server(silent, within=5)
        assert await _lookup_peer(port) == ["127.0.0.5"]


async def test_beyond_the_limit_the_longest_idle_clients_make_room() -> None:
    port = _free_port()
    limits = ConnectionLimits(idle_timeout=60, max_connections=4)
    async with DnsServer(_records(), port=port, tcp_limits=limits) as server:
        await server.add_listener(WHERE)
        idle = [await anyio.connect_tcp(WHERE, port) for _ in range(10)]
        try:
            assert await _lookup_peer(port) == ["127.0.0.5"]
            closed = [await _closed_by_server(stream, within=0.05) for stream in idle]
            assert sum(closed) >= 6 and closed[0]
        finally:
            for stream in idle:
                await stream.aclose()


async def test_running_out_of_descriptors_does_not_stop_the_server(caplog: pytest.LogCaptureFixture) -> None:
    port = _free_port()
    limits = ConnectionLimits(idle_timeout=60, max_connections=100000)
    caplog.set_level(logging.WARNING, "pycompose.network.dns")
    async with DnsServer(_records(), port=port, tcp_limits=limits) as server:
        await server.add_listener(WHERE)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        clients: list[socket.socket] = []
        refused = 0
        resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 16, hard))
        try:
            for _ in range(64):
                try:
                    conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                except OSError:
                    refused += 1
                else:
                    clients.append(conn)
                    conn.settimeout(2)
                    with contextlib.suppress(OSError):
                        conn.connect((WHERE, port))
                await anyio.sleep(0.01)
            await anyio.sleep(0.5)
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
            for conn in clients:
                conn.close()
        assert refused > 0  # the process did run out
        assert "DNS over TCP: out of file descriptors" in caplog.text
        assert await _lookup_peer(port) == ["127.0.0.5"]
