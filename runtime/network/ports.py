"""Published ports: parsing, and host ports held while a container publishes them.

`parse_port_spec` reads Docker's `[ip:][host[-range]:]container[-range][/proto]`;
`from_port_bindings` reads the API's `HostConfig.PortBindings`. Both give
`PortSpec`s: what the user asked, with host port 0 for "any free port".

`PortReservations` turns specs into `Published` mappings and keeps, for each,
a socket bound to the host port: the kernel's DNAT (nat.py) carries the
traffic, the socket only keeps other programs (and other containers) off the
port, and binding it is how a taken port is found, exactly as Docker reports
it ("Bind for 0.0.0.0:8080 failed: port is already allocated"). A free
ephemeral port comes from binding port 0, i.e. from the kernel's
ip_local_port_range. The engine owns one `PortReservations`; after a restart
it reserves the running containers' ports again.
"""

from __future__ import annotations

import errno
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any

from runtime.network.errors import NetworkInvalid, PortAllocated

PROTOCOLS = ("tcp", "udp", "sctp")
ANY = ""  # host_ip of a port published on every address

_SPEC = re.compile(
    r"^(?:(?P<ip>\[[0-9A-Fa-f:.]+\]|[0-9.]+):)??"
    r"(?:(?P<host>\d*(?:-\d+)?):)?"
    r"(?P<cont>\d+(?:-\d+)?)"
    r"(?:/(?P<proto>[a-z]+))?$"
)


@dataclass(frozen=True)
class PortSpec:
    """One container port to publish, as asked."""

    container_port: int
    protocol: str = "tcp"
    host_ip: str = ANY
    host_port: int = 0  # 0: any free (ephemeral) port
    host_port_end: int = 0  # > host_port: pick the first free port of host_port..host_port_end


@dataclass(frozen=True)
class Published:
    """One port as published: what nat.py programs and `docker port` shows."""

    protocol: str
    host_ip: str  # ANY for every address
    host_port: int
    container_port: int

    @property
    def key(self) -> str:
        """Docker's key in NetworkSettings.Ports: `80/tcp`."""
        return f"{self.container_port}/{self.protocol}"


def parse_port_spec(text: str) -> list[PortSpec]:
    """`[ip:][host[-range]:]container[-range][/proto]`, one `PortSpec` per container port."""
    m = _SPEC.match(text.strip())
    if not m:
        raise NetworkInvalid(f"invalid port specification: {text!r}")
    proto = m["proto"] or "tcp"
    if proto not in PROTOCOLS:
        raise NetworkInvalid(f"invalid proto: {proto}")
    host_ip = _host_ip(m["ip"] or "")
    c_lo, c_hi = _range(m["cont"], text)
    host = m["host"] or ""
    if not host:
        return [PortSpec(p, proto, host_ip) for p in range(c_lo, c_hi + 1)]
    h_lo, h_hi = _range(host, text)
    if c_lo == c_hi:
        return [PortSpec(c_lo, proto, host_ip, h_lo, h_hi if h_hi > h_lo else 0)]
    if h_hi - h_lo != c_hi - c_lo:
        raise NetworkInvalid(f"invalid ranges specified for container and host Ports: {text!r}")
    return [PortSpec(c, proto, host_ip, h_lo + i) for i, c in enumerate(range(c_lo, c_hi + 1))]


def from_port_bindings(bindings: Mapping[str, Iterable[Mapping[str, Any]] | None]) -> list[PortSpec]:
    """The API's `PortBindings` (`{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}`) as specs."""
    out: list[PortSpec] = []
    for key, entries in bindings.items():
        port_text, _, proto = key.partition("/")
        proto = proto or "tcp"
        if proto not in PROTOCOLS:
            raise NetworkInvalid(f"invalid proto: {proto}")
        c_lo, c_hi = _range(port_text, key)
        for entry in entries or [{}]:
            host_ip = _host_ip(str(entry.get("HostIp") or ""))
            host_text = str(entry.get("HostPort") or "")
            h_lo, h_hi = _range(host_text, key) if host_text else (0, 0)
            for i, c in enumerate(range(c_lo, c_hi + 1)):
                if c_lo == c_hi:
                    out.append(PortSpec(c, proto, host_ip, h_lo, h_hi if h_hi > h_lo else 0))
                elif h_lo and h_hi - h_lo != c_hi - c_lo:
                    raise NetworkInvalid(f"invalid ranges specified for container and host Ports: {key}")
                else:
                    out.append(PortSpec(c, proto, host_ip, h_lo + i if h_lo else 0))
    return out


class PortReservations:
    """Host ports held by containers: (protocol, host ip, port) -> who holds it, how, for which container port."""

    def __init__(self) -> None:
        self._held: dict[tuple[str, str, int], _Hold] = {}

    def reserve(self, owner: str, spec: PortSpec) -> Published:
        """Hold a host port for `spec` (the exact one, the first free of a range, or an ephemeral one)."""
        if spec.host_port == 0:
            return self._reserve_ephemeral(owner, spec)
        last = spec.host_port_end or spec.host_port
        for port in range(spec.host_port, last + 1):
            published = self._try(owner, spec, port)
            if published is not None:
                return published
        shown = f"{spec.host_port}-{last}" if last > spec.host_port else str(spec.host_port)
        raise PortAllocated(spec.host_ip, shown)

    def release(self, owner: str) -> list[Published]:
        """Free every port `owner` holds; returns what it published."""
        freed = []
        for key, hold in list(self._held.items()):
            if hold.owner == owner:
                if hold.sock is not None:
                    hold.sock.close()
                del self._held[key]
                freed.append(hold.published)
        return freed

    def owner(self, protocol: str, host_ip: str, port: int) -> str | None:
        """Who holds a port that collides with (protocol, host_ip, port); ANY collides with every address."""
        for (proto, ip, p), hold in self._held.items():
            if proto == protocol and p == port and _collide(ip, host_ip):
                return hold.owner
        return None

    def socket_of(self, published: Published) -> socket.socket | None:
        hold = self._held.get((published.protocol, published.host_ip, published.host_port))
        return hold.sock if hold is not None else None

    def published(self, owner: str) -> list[Published]:
        return [hold.published for hold in self._held.values() if hold.owner == owner]

    def close(self) -> None:
        for hold in self._held.values():
            if hold.sock is not None:
                hold.sock.close()
        self._held.clear()

    def _reserve_ephemeral(self, owner: str, spec: PortSpec) -> Published:
        # The kernel picks a free port from ip_local_port_range; a port we
        # hold on another address is free for the kernel but not for us.
        for _ in range(64):
            sock = _bind(spec.protocol, spec.host_ip, 0)
            if sock is None:
                break
            port = sock.getsockname()[1]
            if self.owner(spec.protocol, spec.host_ip, port) is None:
                return self._hold(owner, spec, port, sock)
            sock.close()
        raise NetworkInvalid("all ports are allocated")

    def _try(self, owner: str, spec: PortSpec, port: int) -> Published | None:
        holder = self.owner(spec.protocol, spec.host_ip, port)
        if holder is not None:
            mine = self._held.get((spec.protocol, spec.host_ip, port))
            if mine is not None and mine.owner == owner and mine.published.container_port == spec.container_port:
                return mine.published
            return None
        try:
            sock = _bind(spec.protocol, spec.host_ip, port)
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return None
            if exc.errno == errno.EADDRNOTAVAIL:
                raise NetworkInvalid(f"cannot publish on {spec.host_ip}: not an address of this host") from None
            raise
        return self._hold(owner, spec, port, sock)

    def _hold(self, owner: str, spec: PortSpec, port: int, sock: socket.socket | None) -> Published:
        published = Published(spec.protocol, spec.host_ip, port, spec.container_port)
        self._held[(spec.protocol, spec.host_ip, port)] = _Hold(owner, sock, published)
        return published


@dataclass(frozen=True)
class _Hold:
    owner: str
    sock: socket.socket | None
    published: Published


def _bind(protocol: str, host_ip: str, port: int) -> socket.socket | None:
    """A socket holding the port; None for sctp (no socket needed to DNAT it, often no module)."""
    if protocol == "sctp":
        if port == 0:
            raise NetworkInvalid("sctp ports need an explicit host port")
        return None
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    v6 = ":" in host_ip
    sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, kind)
    try:
        if v6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if kind == socket.SOCK_STREAM:
            # A listening socket keeps every later bind off the port, TIME_WAIT
            # leftovers do not block us; DNAT takes the packets before it.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host_ip or "0.0.0.0", port))
        if kind == socket.SOCK_STREAM:
            sock.listen(0)
    except BaseException:
        sock.close()
        raise
    return sock


def _collide(a: str, b: str) -> bool:
    """Two host addresses of one port collide: the same, or one is every address of the other's family
    (ANY: every IPv4 address, "::" every IPv6 one)."""
    if (":" in a) != (":" in b):
        return False
    return a == b or bool({a, b} & {ANY, "::"})


def _host_ip(text: str) -> str:
    text = text.strip("[]")
    if text in ("", "0.0.0.0"):
        return ANY
    try:
        return str(ip_address(text))
    except ValueError:
        raise NetworkInvalid(f"invalid IP address: {text}") from None


def _range(text: str, spec: str) -> tuple[int, int]:
    lo_text, _, hi_text = text.partition("-")
    try:
        lo = int(lo_text)
        hi = int(hi_text) if hi_text else lo
    except ValueError:
        raise NetworkInvalid(f"invalid port specification: {spec!r}") from None
    if not (0 < lo <= 65535 and 0 < hi <= 65535) or hi < lo:
        raise NetworkInvalid(f"invalid port range: {text} in {spec!r}")
    return lo, hi
