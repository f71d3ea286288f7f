"""The embedded DNS server's TCP side: length-prefixed queries on a connection (RFC 7766).

Connections come through a ConnectionPool (runtime/connections.py), as the
API's do: running out of file descriptors is logged and waited out instead of
ending the server, at most TCP_MAX_CONNECTIONS are open at once (fewer under
a low RLIMIT_NOFILE; the longest idle makes room for a newcomer), and one that waits TCP_IDLE seconds for its
next query is closed, as Docker's embedded DNS closes idle TCP clients.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from ipaddress import IPv4Address

import anyio
import anyio.abc
from anyio.streams.buffered import BufferedByteReceiveStream

from runtime.connections import ConnectionLimits, ConnectionPool, Slot, default_max_connections

log = logging.getLogger("pycompose.network.dns")

TCP_IDLE = 10.0
TCP_MAX_CONNECTIONS = 256

# (query in wire format, querier) -> response in wire format, or None to hang up.
Handler = Callable[[bytes, IPv4Address], Awaitable[bytes | None]]

_GONE = (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.IncompleteRead,
         TimeoutError, OSError)


def tcp_pool(limits: ConnectionLimits | None = None) -> ConnectionPool:
    """The connections of one DNS server, over all its listeners.

    By default at most TCP_MAX_CONNECTIONS, and no more than a quarter of what
    the API may hold: both share the engine's file descriptors."""
    if limits is None:
        limits = ConnectionLimits(TCP_IDLE, min(TCP_MAX_CONNECTIONS, default_max_connections() // 4))
    return ConnectionPool("DNS over TCP", limits, log)


async def serve_tcp(listener: anyio.abc.SocketListener, pool: ConnectionPool, handle: Handler) -> None:
    """Accept and serve clients on `listener` until cancelled."""
    async with anyio.create_task_group() as tasks:
        while True:
            stream, slot = await pool.accept(listener)
            tasks.start_soon(_serve_client, stream, slot, handle)


async def read_framed(buffered: BufferedByteReceiveStream) -> bytes:
    """One DNS message after its 2-byte length."""
    size = int.from_bytes(await buffered.receive_exactly(2), "big")
    return await buffered.receive_exactly(size)


async def _serve_client(stream: anyio.abc.SocketStream, slot: Slot, handle: Handler) -> None:
    source = IPv4Address(stream.extra(anyio.abc.SocketAttribute.remote_address)[0])
    buffered = BufferedByteReceiveStream(stream)
    with slot:
        async with stream:
            try:
                while True:
                    with slot.waiting():
                        wire = await read_framed(buffered)
                    response = await handle(wire, source)
                    if response is None:
                        return
                    await stream.send(len(response).to_bytes(2, "big") + response)
            except _GONE:
                return
            except Exception:
                log.exception("DNS query over TCP from %s failed", source)
