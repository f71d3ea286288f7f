"""Published TCP ports reached on ::1: relayed by the engine, as dockerd's docker-proxy does.

IPv6 has no `route_localnet`: a connection to [::1]:port DNATed to a
container gets its answers de-NATed back to ::1 on the bridge, and the
kernel drops packets for ::1 arriving on any device but `lo` (RFC 4291
2.5.3). So the ip6 table leaves ::1 alone (nat6.py) and the socket that
holds the host port (ports.py) accepts those connections; each is copied
both ways to the container's IPv6 address. Every other local IPv6 address
is DNATed in the kernel.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from ipaddress import IPv6Address

import anyio
import anyio.abc
from anyio.abc import SocketListener, SocketStream

log = logging.getLogger("pycompose.network.proxy6")
CHUNK = 65536


class LoopbackProxies:
    """One relay per published TCP port on [::] or [::1], grouped by owner (the container)."""

    def __init__(self, group: anyio.abc.TaskGroup) -> None:
        self._group = group
        self._scopes: dict[str, list[anyio.CancelScope]] = {}

    def start(self, owner: str, sock: socket.socket, target: IPv6Address, port: int) -> None:
        scope = anyio.CancelScope()
        self._scopes.setdefault(owner, []).append(scope)
        sock.listen(128)
        self._group.start_soon(_serve, scope, sock, str(target), port)

    def stop(self, owner: str) -> None:
        for scope in self._scopes.pop(owner, []):
            scope.cancel()

    def close(self) -> None:
        for owner in list(self._scopes):
            self.stop(owner)


async def _serve(scope: anyio.CancelScope, sock: socket.socket, host: str, port: int) -> None:
    with scope:
        listener = await SocketListener.from_socket(sock.dup())  # ports.py keeps (and closes) its own socket
        async with listener, anyio.create_task_group() as group:
            while True:
                try:
                    client = await listener.accept()
                except (OSError, anyio.ClosedResourceError, anyio.BrokenResourceError):
                    return
                group.start_soon(_relay, client, host, port)


async def _relay(client: SocketStream, host: str, port: int) -> None:
    async with client:
        try:
            upstream = await anyio.connect_tcp(host, port)
        except OSError as exc:
            log.debug("relay to [%s]:%d failed: %s", host, port, exc)
            return
        async with upstream, anyio.create_task_group() as group:
            group.start_soon(_copy, client, upstream)
            group.start_soon(_copy, upstream, client)


async def _copy(source: SocketStream, sink: SocketStream) -> None:
    try:
        while True:
            data = await source.receive(CHUNK)
            await sink.send(data)
    except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        pass
    with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
        await sink.send_eof()
