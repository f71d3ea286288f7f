"""IPv6 IPAM: the IPv6 subnet of a dual-stack network and the address each endpoint gets in it.

Pure, like ipam.py (its IPv4 twin): the engine reads the host's IPv6 routes
(`parse_proc_ipv6_routes` over the text of /proc/net/ipv6_route) and passes
them in. Without a given subnet a /64 is cut from the ULA range fd00::/8, in
order, skipping those that overlap a network of ours or a route of the host
(as dockerd does with a `default-address-pools` entry `fd00::/8` size 64).
Addresses are handed out serially from the subnet's first host (gateway
excluded), or from the `IPRange` when one is given.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from ipaddress import AddressValueError, IPv6Address, IPv6Interface, IPv6Network, ip_network
from typing import Any

from runtime.network.errors import AddressInUse, NetworkInvalid, PoolOverlap
from runtime.network.ipam import first_free

DEFAULT_POOL6 = IPv6Network("fd00::/8")
DEFAULT_SIZE6 = 64
_RTF_UP = 0x1
_SCAN_LIMIT = 1 << 16  # candidates tried before giving up (each one a /64)


def predefined_subnets6() -> Iterator[IPv6Network]:
    base = int(DEFAULT_POOL6.network_address)
    step = 1 << (128 - DEFAULT_SIZE6)
    for n in range(_SCAN_LIMIT):
        yield IPv6Network((base + n * step, DEFAULT_SIZE6))


def parse_proc_ipv6_routes(text: str, ignore_prefix: str = "") -> list[IPv6Network]:
    """Destinations of the host's IPv6 routes (/proc/net/ipv6_route), without default, link-local, multicast."""
    out: list[IPv6Network] = []
    for line in text.splitlines():
        cols = line.split()
        if len(cols) < 10:
            continue
        dest, plen, flags, dev = cols[0], cols[1], cols[8], cols[9]
        if ignore_prefix and dev.startswith(ignore_prefix):
            continue
        try:
            if not int(flags, 16) & _RTF_UP:
                continue
            net = IPv6Network((int(dest, 16), int(plen, 16)), strict=False)
        except ValueError:
            continue
        if net.prefixlen == 0 or net.is_link_local or net.is_multicast or net.prefixlen == 128:
            continue
        out.append(net)
    return out


def choose_subnet6(taken: Iterable[IPv6Network], avoid: Iterable[IPv6Network] = ()) -> IPv6Network:
    return first_free(predefined_subnets6(), [*taken, *avoid], "IPv6")


def plan_pool6(config: Mapping[str, Any] | None, taken: Iterable[IPv6Network],
               avoid: Iterable[IPv6Network] = ()) -> Pool6:
    """The IPv6 pool of a new network from its IPv6 IPAM config entry (None: a default ULA /64)."""
    config = config or {}
    taken = list(taken)
    subnet_text = str(config.get("Subnet") or "")
    if not subnet_text:
        if config.get("IPRange") or config.get("Gateway"):
            raise NetworkInvalid("ip-range and gateway need a subnet")
        subnet = choose_subnet6(taken, avoid)
        return Pool6(subnet=subnet, gateway=subnet.network_address + 1)
    subnet = parse_subnet6(subnet_text, "subnet")
    if subnet.prefixlen > 126:
        raise NetworkInvalid(f"subnet {subnet} is too small: it needs at least 2 addresses besides the gateway")
    if any(subnet.overlaps(other) for other in taken):
        raise PoolOverlap("invalid pool request: Pool overlaps with other one on this address space")
    ip_range = None
    if config.get("IPRange"):
        ip_range = parse_subnet6(str(config["IPRange"]), "ip-range")
        if not ip_range.subnet_of(subnet):
            raise NetworkInvalid(f"ip-range {ip_range} is not within subnet {subnet}")
    gateway = subnet.network_address + 1
    if config.get("Gateway"):
        gateway = parse_address6(str(config["Gateway"]), "gateway")
        if gateway not in subnet or gateway == subnet.network_address:
            raise NetworkInvalid(f"gateway {gateway} is not a usable address of subnet {subnet}")
    reserved: dict[str, str] = {}
    for name, text in dict(config.get("AuxiliaryAddresses") or {}).items():
        address = parse_address6(str(text), f"auxiliary address {name}")
        if address not in subnet:
            raise NetworkInvalid(f"auxiliary address {name}={address} is not within subnet {subnet}")
        reserved[str(address)] = f"aux:{name}"
    return Pool6(subnet=subnet, gateway=gateway, ip_range=ip_range, user_configured=True, allocated=reserved)


@dataclass
class Pool6:
    """One network's IPv6 addresses: subnet, gateway, optional range, who holds what."""

    subnet: IPv6Network
    gateway: IPv6Address
    ip_range: IPv6Network | None = None
    user_configured: bool = False
    allocated: dict[str, str] = field(default_factory=dict)  # address -> owner
    last: str | None = None

    @property
    def gateway_interface(self) -> IPv6Interface:
        return IPv6Interface(f"{self.gateway}/{self.subnet.prefixlen}")

    def interface(self, address: IPv6Address) -> IPv6Interface:
        return IPv6Interface(f"{address}/{self.subnet.prefixlen}")

    def allocate(self, owner: str, wanted: str | None = None) -> IPv6Address:
        if wanted:
            return self._allocate_static(owner, wanted)
        hosts = self.ip_range or self.subnet
        first, last = int(hosts.network_address), int(hosts.broadcast_address)
        if hosts == self.subnet:
            first += 1  # the subnet-router anycast address is nobody's
        start = int(IPv6Address(self.last)) + 1 if self.last else first
        if not first <= start <= last:
            start = first
        span = last - first + 1
        for step in range(min(span, len(self.allocated) + 2)):
            candidate = IPv6Address(first + (start - first + step) % span)
            if candidate != self.gateway and str(candidate) not in self.allocated:
                self.allocated[str(candidate)] = owner
                self.last = str(candidate)
                return candidate
        raise AddressInUse("no available IPv6 addresses on this network's address pools")

    def _allocate_static(self, owner: str, wanted: str) -> IPv6Address:
        address = parse_address6(wanted, "ipv6_address")
        holder = self.allocated.get(str(address))
        if holder == owner:
            return address
        if not self.user_configured:
            raise NetworkInvalid("user specified IP address is supported only when connecting to networks "
                                 "with user configured subnets")
        if address not in self.subnet or address == self.subnet.network_address:
            raise NetworkInvalid(f"no configured subnet or ip-range contain the IP address {address}")
        if holder is not None or address == self.gateway:
            raise AddressInUse(f"Address already in use: {address}")
        self.allocated[str(address)] = owner
        return address

    def release_owner(self, owner: str) -> list[IPv6Address]:
        mine = [a for a, o in self.allocated.items() if o == owner]
        for key in mine:
            del self.allocated[key]
        return [IPv6Address(a) for a in mine]

    def to_json(self) -> dict[str, Any]:
        return {
            "subnet": str(self.subnet), "gateway": str(self.gateway),
            "ip_range": str(self.ip_range) if self.ip_range else None,
            "user_configured": self.user_configured, "allocated": dict(self.allocated), "last": self.last,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Pool6:
        return cls(
            subnet=IPv6Network(data["subnet"]),
            gateway=IPv6Address(data["gateway"]),
            ip_range=IPv6Network(data["ip_range"]) if data.get("ip_range") else None,
            user_configured=bool(data.get("user_configured", False)),
            allocated={str(k): str(v) for k, v in dict(data.get("allocated") or {}).items()},
            last=data.get("last"),
        )


def parse_subnet6(text: str, what: str) -> IPv6Network:
    try:
        net = ip_network(text, strict=False)
    except ValueError as exc:
        raise NetworkInvalid(f"invalid {what} {text}: {exc}") from None
    if not isinstance(net, IPv6Network):
        raise NetworkInvalid(f"invalid {what} {text}: not an IPv6 subnet")
    if net.network_address != IPv6Address(text.split("/")[0]):
        raise NetworkInvalid(f"invalid {what} {text}: it should be {net}")
    return net


def parse_address6(text: str, what: str) -> IPv6Address:
    try:
        return IPv6Address(text)
    except AddressValueError:
        raise NetworkInvalid(f"invalid {what} {text!r}: not an IPv6 address") from None
