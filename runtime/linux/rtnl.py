"""The few rtnetlink requests of a container start and stop, on a raw socket.

pyroute2 spends about 0.5 ms of Python per request (it runs an event loop
for each); a veth pair with its container end configured takes eleven of
them, the biggest CPU cost of a container start. The requests here are
packed by hand with `struct`: a socket, a few bytes, one ACK each. Errors
are OSError with the kernel's errno.
"""

from __future__ import annotations

import os
import socket
import struct
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface

NETLINK_ROUTE = 0
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_NEWROUTE = 20, 24
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
NLMSG_ERROR = 2
IFF_UP = 0x1
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_MASTER, IFLA_LINKINFO, IFLA_NET_NS_FD = 1, 3, 4, 10, 18, 28
IFLA_INFO_KIND, IFLA_INFO_DATA, VETH_INFO_PEER = 1, 2, 1
IFA_ADDRESS, IFA_LOCAL, IFA_BROADCAST = 1, 2, 4
IFA_F_NODAD = 0x02
RTA_OIF, RTA_GATEWAY = 4, 5
RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST = 254, 3, 0, 1
_NLMSGHDR = struct.Struct("=IHHII")
_IFINFOMSG = struct.Struct("=BxHiII")
_IFADDRMSG = struct.Struct("=BBBBI")
_RTMSG = struct.Struct("=BBBBBBBBI")


def _align(n: int) -> int:
    return (n + 3) & ~3


def attr(kind: int, payload: bytes) -> bytes:
    """One rtattr, padded to 4 bytes."""
    size = 4 + len(payload)
    return struct.pack("=HH", size, kind) + payload + b"\0" * (_align(size) - size)


def _name(name: str) -> bytes:
    return name.encode() + b"\0"


def _mac(mac: str) -> bytes:
    return bytes(int(part, 16) for part in mac.split(":"))


def _ifinfo(index: int = 0, up: bool = False) -> bytes:
    return _IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, IFF_UP if up else 0, IFF_UP if up else 0)


class Rtnl:
    """A NETLINK_ROUTE socket in the netns of the thread that opened it."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self._seq = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, kind: int, flags: int, body: bytes) -> bytes:
        """Send one request and wait for its answer: the reply's payload (b"" for a bare ACK)."""
        self._seq += 1
        seq = self._seq
        self.sock.send(_NLMSGHDR.pack(_NLMSGHDR.size + len(body), kind, NLM_F_REQUEST | NLM_F_ACK | flags, seq, 0)
                       + body)
        reply = b""
        while True:
            data = self.sock.recv(65536)
            offset = 0
            while offset + _NLMSGHDR.size <= len(data):
                length, mtype, _flags, mseq, _pid = _NLMSGHDR.unpack_from(data, offset)
                if length < _NLMSGHDR.size:
                    raise OSError(0, "rtnetlink: malformed answer")
                payload = data[offset + _NLMSGHDR.size:offset + length]
                offset += _align(length)
                if mseq != seq:
                    continue
                if mtype == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", payload)[0]
                    if code:
                        raise OSError(code, os.strerror(code))
                    return reply
                reply = payload  # a GET answers with the object, then the ACK

    # links

    def index(self, name: str) -> int | None:
        """The index of link `name`, None when there is none."""
        try:
            reply = self.request(RTM_GETLINK, 0, _ifinfo() + attr(IFLA_IFNAME, _name(name)))
        except OSError as exc:
            if exc.errno == 19:  # ENODEV
                return None
            raise
        return int(_IFINFOMSG.unpack_from(reply)[2]) if reply else None

    def set_up(self, index: int) -> None:
        self.request(RTM_NEWLINK, 0, _ifinfo(index, up=True))

    def add_veth(self, name: str, master: int | None, peer_name: str, peer_netns_fd: int, peer_mac: str,
                 mtu: int | None = None) -> None:
        """A veth pair: `name` here (up, enslaved to `master`), `peer_name` in the netns of `peer_netns_fd`."""
        peer = _ifinfo() + attr(IFLA_IFNAME, _name(peer_name)) + attr(IFLA_ADDRESS, _mac(peer_mac)) \
            + attr(IFLA_NET_NS_FD, struct.pack("=I", peer_netns_fd))
        host = attr(IFLA_IFNAME, _name(name))
        if mtu:
            peer += attr(IFLA_MTU, struct.pack("=I", mtu))
            host += attr(IFLA_MTU, struct.pack("=I", mtu))
        if master is not None:
            host += attr(IFLA_MASTER, struct.pack("=I", master))
        info = attr(IFLA_INFO_KIND, b"veth") + attr(IFLA_INFO_DATA, attr(VETH_INFO_PEER, peer))
        self.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, _ifinfo(up=True) + host + attr(IFLA_LINKINFO, info))

    def delete(self, name: str) -> bool:
        """Delete link `name` (a veth takes its peer along); False when it was gone."""
        try:
            self.request(RTM_DELLINK, 0, _ifinfo() + attr(IFLA_IFNAME, _name(name)))
        except OSError as exc:
            if exc.errno == 19:  # ENODEV
                return False
            raise
        return True

    # addresses and routes

    def add_address(self, index: int, address: IPv4Interface | IPv6Interface) -> None:
        """`address` (with its prefix length and the subnet's broadcast) on link `index`.

        IPv6 addresses skip duplicate address detection (usable at once, as Docker's are)."""
        packed = address.ip.packed
        if isinstance(address, IPv6Interface):
            body = _IFADDRMSG.pack(socket.AF_INET6, address.network.prefixlen, IFA_F_NODAD, RT_SCOPE_UNIVERSE,
                                   index) + attr(IFA_ADDRESS, packed)
            self.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body)
            return
        body = _IFADDRMSG.pack(socket.AF_INET, address.network.prefixlen, 0, RT_SCOPE_UNIVERSE, index) \
            + attr(IFA_LOCAL, packed) + attr(IFA_ADDRESS, packed)
        if address.network.prefixlen < 31:
            body += attr(IFA_BROADCAST, address.network.broadcast_address.packed)
        self.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body)

    def add_default_route(self, gateway: IPv4Address | IPv6Address, index: int) -> None:
        family = socket.AF_INET6 if isinstance(gateway, IPv6Address) else socket.AF_INET
        body = _RTMSG.pack(family, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0) \
            + attr(RTA_GATEWAY, gateway.packed) + attr(RTA_OIF, struct.pack("=I", index))
        self.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, body)
