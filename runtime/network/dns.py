"""The embedded DNS server: container names, service names and aliases, per shared network.

One server per engine, in the host's netns, listening (UDP and TCP, the TCP
side in dns_tcp.py) on the gateway address of each user-defined network; containers find it in their
resolv.conf (files.py). A querier is known by its source address: it sees the
names registered on the networks its container is attached to, plus
`name.network` for those networks. Several containers under one name (the
replicas of a service) are all answered, rotated on every query (round
robin). Every other name is forwarded to the querier's upstreams (its `dns`
option, else the host's resolvers) with a timeout; SERVFAIL if none answers.
A container on internal networks only gets no forwarding (NXDOMAIN), and an
unknown source gets REFUSED: the server must not become an open resolver.

`Records` is updated by the engine (from worker threads) while the server
reads it on the event loop: it holds a lock. The wire format is dnspython's.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

import anyio
import anyio.abc
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.reversename
import dns.rrset
from anyio.streams.buffered import BufferedByteReceiveStream

from runtime.connections import ConnectionLimits
from runtime.network.dns_tcp import read_framed, serve_tcp, tcp_pool

log = logging.getLogger("pycompose.network.dns")

TTL = 600  # Docker's TTL for container records
DNS_PORT = 53
FORWARD_TIMEOUT = 2.0  # seconds per upstream
_MAX_UDP = 512  # without EDNS
_IP_FREEBIND = 15  # linux/in.h; not in Python 3.11's socket module


@dataclass(frozen=True)
class _Entry:
    container: str
    network: str
    address: IPv4Address
    names: tuple[str, ...]


class Records:
    """network -> name -> addresses, and which container each address belongs to."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], _Entry] = {}  # (container, network) -> entry
        self._by_address: dict[IPv4Address, str] = {}  # address -> container
        self._upstreams: dict[str, tuple[str, ...]] = {}
        self._forward: dict[str, bool] = {}
        self._turn: dict[str, int] = {}
        self._links: dict[str, dict[str, str]] = {}  # container -> alias -> linked container
        self._v6: dict[IPv4Address, IPv6Address] = {}  # a dual-stack endpoint's IPv6 address (AAAA)

    def add(self, container: str, network: str, address: IPv4Address | str, names: Iterable[str], *,
            upstreams: Sequence[str] | None = None, forward: bool = True,
            address6: IPv6Address | None = None) -> None:
        """Register `container`'s `address` on `network` under `names` (name, service, aliases…).

        `upstreams`: the container's own `dns` servers (None: the server's
        default); `forward`: False for a container on internal networks only.
        """
        address = IPv4Address(str(address))
        entry = _Entry(container, network, address, tuple(dict.fromkeys(_norm(n) for n in names if n)))
        with self._lock:
            self._entries[(container, network)] = entry
            self._by_address[address] = container
            if address6 is not None:
                self._v6[address] = address6
            if upstreams is not None:
                self._upstreams[container] = tuple(upstreams)
            self._forward[container] = forward

    def remove(self, container: str, network: str | None = None) -> None:
        """Forget the container on one network, or everywhere."""
        with self._lock:
            for key in [k for k in self._entries if k[0] == container and network in (None, k[1])]:
                entry = self._entries.pop(key)
                if self._by_address.get(entry.address) == container:
                    del self._by_address[entry.address]
                    self._v6.pop(entry.address, None)
            if not any(k[0] == container for k in self._entries):
                self._upstreams.pop(container, None)
                self._forward.pop(container, None)
                self._links.pop(container, None)

    def set_links(self, container: str, links: Mapping[str, str]) -> None:
        """Names only `container` resolves (its links: alias -> linked container), on networks they share."""
        with self._lock:
            self._links[container] = {_norm(alias): target for alias, target in links.items()}

    def ipv6_of(self, addresses: Iterable[IPv4Address]) -> list[IPv6Address]:
        with self._lock:  # the IPv6 addresses of dual-stack endpoints, for AAAA answers
            return [self._v6[a] for a in addresses if a in self._v6]

    def querier(self, source: IPv4Address) -> str | None:
        with self._lock:
            return self._by_address.get(source)

    def resolve(self, source: IPv4Address, name: str) -> list[IPv4Address]:
        """Addresses of `name` visible to the container at `source`, rotated on each call."""
        name = _norm(name)
        with self._lock:
            networks = self._networks_of(source)
            found = self._linked(source, networks, name)
            if not found:
                found = self._lookup(networks, name)
            if not found and "." in name:
                head, _, network = name.partition(".")
                if network in {n.lower() for n in networks}:
                    found = self._lookup([n for n in networks if n.lower() == network], head)
            if len(found) > 1:
                turn = self._turn.get(name, 0)
                self._turn[name] = turn + 1
                k = turn % len(found)
                found = found[k:] + found[:k]
            return found

    def reverse(self, source: IPv4Address, address: IPv4Address) -> str | None:
        """The first name of the container holding `address` on a network shared with `source`."""
        with self._lock:
            networks = set(self._networks_of(source))
            for entry in self._entries.values():
                if entry.address == address and entry.network in networks and entry.names:
                    return entry.names[0]
        return None

    def upstreams(self, source: IPv4Address) -> tuple[str, ...] | None:
        """The querier's own upstreams, or None for the server's default."""
        with self._lock:
            container = self._by_address.get(source)
            return self._upstreams.get(container) if container else None

    def may_forward(self, source: IPv4Address) -> bool:
        with self._lock:
            container = self._by_address.get(source)
            return bool(container and self._forward.get(container, True))

    def _networks_of(self, source: IPv4Address) -> list[str]:
        container = self._by_address.get(source)
        return [e.network for e in self._entries.values() if e.container == container] if container else []

    def _linked(self, source: IPv4Address, networks: Sequence[str], name: str) -> list[IPv4Address]:
        container = self._by_address.get(source)
        target = self._links.get(container or "", {}).get(name)
        if target is None:
            return []
        wanted = set(networks)
        return [e.address for e in self._entries.values() if e.container == target and e.network in wanted]

    def _lookup(self, networks: Sequence[str], name: str) -> list[IPv4Address]:
        wanted = set(networks)
        found = [e.address for e in self._entries.values() if e.network in wanted and name in e.names]
        return list(dict.fromkeys(found))


def local_answer(records: Records, query: dns.message.Message, source: IPv4Address) -> dns.message.Message | None:
    """The answer from our records, or None when the query is to be forwarded."""
    response = dns.message.make_response(query)
    response.flags |= dns.flags.RA
    if records.querier(source) is None:
        response.set_rcode(dns.rcode.REFUSED)
        return response
    if query.opcode() != dns.opcode.QUERY:
        response.set_rcode(dns.rcode.NOTIMP)
        return response
    if len(query.question) != 1:
        response.set_rcode(dns.rcode.FORMERR)
        return response
    question = query.question[0]
    if question.rdclass != dns.rdataclass.IN:
        return None if records.may_forward(source) else _nxdomain(response)
    name = question.name.to_text(omit_final_dot=True)
    if question.rdtype == dns.rdatatype.PTR:
        ptr = _reverse(records, question.name, source)
        if ptr is not None:
            response.answer.append(dns.rrset.from_text(question.name, TTL, "IN", "PTR", ptr + "."))
            response.flags |= dns.flags.AA
            return response
    else:
        addresses = records.resolve(source, name)
        if addresses:
            response.flags |= dns.flags.AA
            if question.rdtype in (dns.rdatatype.A, dns.rdatatype.ANY):
                texts = [str(a) for a in addresses]
                response.answer.append(dns.rrset.from_text_list(question.name, TTL, "IN", "A", texts))
            v6 = records.ipv6_of(addresses)
            if v6 and question.rdtype in (dns.rdatatype.AAAA, dns.rdatatype.ANY):
                response.answer.append(dns.rrset.from_text_list(question.name, TTL, "IN", "AAAA", [str(a) for a in v6]))
            return response  # other types of a known name: no data
    return None if records.may_forward(source) else _nxdomain(response)


def servfail(query: dns.message.Message) -> dns.message.Message:
    response = dns.message.make_response(query)
    response.flags |= dns.flags.RA
    response.set_rcode(dns.rcode.SERVFAIL)
    return response


class DnsServer:
    """`async with DnsServer(records, upstreams) as server: await server.add_listener(gateway)`."""

    def __init__(self, records: Records, upstreams: Sequence[str] = (), *, port: int = DNS_PORT,
                 timeout: float = FORWARD_TIMEOUT, tcp_limits: ConnectionLimits | None = None) -> None:
        self.records = records
        self.upstreams = tuple(upstreams)  # "ip" or "ip:port"
        self.port = port
        self.timeout = timeout
        self._tcp_pool = tcp_pool(tcp_limits)
        self._listeners: dict[str, tuple[anyio.CancelScope, anyio.Event]] = {}
        self._stack = contextlib.AsyncExitStack()
        self._tg: anyio.abc.TaskGroup | None = None

    async def __aenter__(self) -> DnsServer:
        self._tg = await self._stack.enter_async_context(anyio.create_task_group())
        self._tg.start_soon(self._tcp_pool.close_idle_forever)
        log.debug("%s", self._tcp_pool.describe())
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._tg is not None:
            self._tg.cancel_scope.cancel()
        self._listeners.clear()
        await self._stack.__aexit__(*exc)
        self._tg = None

    @property
    def addresses(self) -> list[str]:
        return sorted(self._listeners)

    async def add_listener(self, address: str) -> None:
        """Serve UDP and TCP on address:port; binding errors surface here. Idempotent."""
        if self._tg is None:
            raise RuntimeError("DnsServer used outside `async with`")
        if address in self._listeners:
            return
        udp_sock, tcp_sock = _bound(address, self.port, socket.SOCK_DGRAM), None
        try:
            tcp_sock = _bound(address, self.port, socket.SOCK_STREAM)
            tcp_sock.listen(64)
            udp = await anyio.abc.UDPSocket.from_socket(udp_sock)
            tcp = await anyio.abc.SocketListener.from_socket(tcp_sock)
        except BaseException:
            udp_sock.close()
            if tcp_sock is not None:
                tcp_sock.close()
            raise
        scope, done = anyio.CancelScope(), anyio.Event()
        self._listeners[address] = (scope, done)
        self._tg.start_soon(self._serve, udp, tcp, scope, done)

    async def remove_listener(self, address: str) -> None:
        """Stop serving on `address`; returns once its sockets are closed."""
        entry = self._listeners.pop(address, None)
        if entry is not None:
            entry[0].cancel()
            await entry[1].wait()

    async def handle(self, wire: bytes, source: IPv4Address, *, tcp: bool = False) -> bytes | None:
        """The response to one query in wire format; None to drop garbage."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if query.flags & dns.flags.QR:
            return None
        response = local_answer(self.records, query, source)
        if response is None:
            upstreams = self.records.upstreams(source) or self.upstreams
            answer = await self._forward(wire, upstreams, tcp)
            if answer is not None:
                return answer
            response = servfail(query)
        return _to_wire(response, query, tcp)

    async def _serve(self, udp: anyio.abc.UDPSocket, tcp: anyio.abc.SocketListener,
                     scope: anyio.CancelScope, done: anyio.Event) -> None:
        try:
            with scope:
                async with udp, tcp, anyio.create_task_group() as tg:
                    tg.start_soon(serve_tcp, tcp, self._tcp_pool, self._handle_tcp)
                    # Queries are answered concurrently; a socket takes one writer at a time.
                    sending = anyio.Lock()
                    async for packet, (host, port) in udp:
                        tg.start_soon(self._udp_query, udp, sending, packet, host, port)
        finally:
            done.set()

    async def _udp_query(self, udp: anyio.abc.UDPSocket, sending: anyio.Lock, packet: bytes, host: str,
                         port: int) -> None:
        try:
            response = await self.handle(packet, IPv4Address(host))
            if response is not None:
                async with sending:
                    await udp.sendto(response, host, port)
        except (OSError, anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass
        except Exception:
            # One bad query must not take the server (and the engine) down.
            log.exception("DNS query from %s failed", host)

    async def _handle_tcp(self, wire: bytes, source: IPv4Address) -> bytes | None:
        return await self.handle(wire, source, tcp=True)

    async def _forward(self, wire: bytes, upstreams: Iterable[str], tcp: bool) -> bytes | None:
        for upstream in upstreams:
            host, port = _split_server(upstream)
            with contextlib.suppress(OSError, TimeoutError, anyio.EndOfStream, anyio.IncompleteRead,
                                     anyio.BrokenResourceError):
                with anyio.fail_after(self.timeout):
                    answer = await (_ask_tcp if tcp else _ask_udp)(host, port, wire)
                if answer is not None:
                    return answer
        return None


async def _ask_udp(host: str, port: int, wire: bytes) -> bytes | None:
    async with await anyio.create_connected_udp_socket(host, port) as sock:
        await sock.send(wire)
        while True:
            answer = await sock.receive()
            if answer[:2] == wire[:2] and len(answer) >= 12:
                return answer


async def _ask_tcp(host: str, port: int, wire: bytes) -> bytes | None:
    async with await anyio.connect_tcp(host, port) as stream:
        await stream.send(len(wire).to_bytes(2, "big") + wire)
        answer = await read_framed(BufferedByteReceiveStream(stream))
        return answer if answer[:2] == wire[:2] else None


def _to_wire(response: dns.message.Message, query: dns.message.Message, tcp: bool) -> bytes:
    limit = 65535 if tcp else max(_MAX_UDP, query.payload if query.edns >= 0 else _MAX_UDP)
    try:
        # dnspython shuffles records by default; keep our round-robin order.
        return response.to_wire(max_size=limit, want_shuffle=False)
    except dns.exception.TooBig:
        response.answer.clear()
        response.flags |= dns.flags.TC
        return response.to_wire(max_size=limit)


def _reverse(records: Records, name: dns.name.Name, source: IPv4Address) -> str | None:
    try:
        address = ip_address(dns.reversename.to_address(name))
    except (dns.exception.SyntaxError, ValueError):
        return None
    return records.reverse(source, address) if isinstance(address, IPv4Address) else None


def _nxdomain(response: dns.message.Message) -> dns.message.Message:
    response.set_rcode(dns.rcode.NXDOMAIN)
    return response


def _bound(address: str, port: int, kind: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # The bridge may get its address a moment later (engine start, recovery).
        sock.setsockopt(socket.SOL_IP, _IP_FREEBIND, 1)
        sock.bind((address, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _split_server(server: str) -> tuple[str, int]:
    host, sep, port = server.rpartition(":")
    if sep and "." in host:
        return host, int(port)
    return server, DNS_PORT


def _norm(name: str) -> str:
    return name.strip().rstrip(".").lower()
