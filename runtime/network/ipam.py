"""IPAM: which subnet a network gets and which address each endpoint gets in it.

Pure: the engine reads the host's routes (`parse_proc_routes` over the text of
/proc/net/route) and its own networks, and passes them in; a `Pool` is plain
data the engine persists (`to_json`/`from_json`) and mutates only through
`allocate`/`release`.

Docker's rules, followed here: the predefined pools are 172.17.0.0/16 (the
default bridge), then 172.18/16 … 172.31/16, then 192.168.0.0/16 cut into /20s;
a predefined subnet is taken only if it overlaps neither a network of ours nor
a route of the host (other than the default route). A user-given subnet is
checked against our networks only (the user knows the host). Addresses are
handed out serially, after the last one given, so a released address is not
reused at once (ARP and DNS caches of the neighbours forget it first).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from ipaddress import (
    AddressValueError,
    IPv4Address,
    IPv4Interface,
    IPv4Network,
    IPv6Network,
    NetmaskValueError,
    ip_network,
)
from typing import Any, TypeVar

from runtime.network.errors import AddressInUse, NetworkInvalid, PoolOverlap

N = TypeVar("N", IPv4Network, IPv6Network)

# (base, size of each subnet cut from it), in the order Docker tries them.
DEFAULT_POOLS: tuple[tuple[str, int], ...] = (
    *((f"172.{n}.0.0/16", 16) for n in range(17, 32)),
    ("192.168.0.0/16", 20),
)
DEFAULT_BRIDGE_SUBNET = IPv4Network("172.17.0.0/16")
_RTF_UP = 0x1


def predefined_subnets() -> Iterator[IPv4Network]:
    """Every subnet of the predefined pools, in Docker's order."""
    for base, size in DEFAULT_POOLS:
        yield from IPv4Network(base).subnets(new_prefix=size)


def parse_proc_routes(text: str, ignore_prefix: str = "") -> list[IPv4Network]:
    """The destinations of the host's routes from /proc/net/route, without the default route.

    Routes through devices named `ignore_prefix…` (our own bridges) are left
    out: the engine knows its networks already and passes them separately.
    """
    out: list[IPv4Network] = []
    for line in text.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 8:
            continue
        dev, dest, flags, mask = cols[0], cols[1], cols[3], cols[7]
        if ignore_prefix and dev.startswith(ignore_prefix):
            continue
        try:
            if not int(flags, 16) & _RTF_UP:
                continue
            net = IPv4Address(int.from_bytes(bytes.fromhex(dest), "little"))
            netmask = IPv4Address(int.from_bytes(bytes.fromhex(mask), "little"))
        except ValueError:
            continue
        if int(netmask) == 0:
            continue
        out.append(IPv4Network(f"{net}/{netmask}", strict=False))
    return out


def choose_subnet(taken: Iterable[IPv4Network], avoid: Iterable[IPv4Network] = ()) -> IPv4Network:
    """The first predefined subnet that overlaps neither `taken` (ours) nor `avoid` (host routes)."""
    return first_free(predefined_subnets(), [*taken, *avoid], "IPv4")


def first_free(candidates: Iterable[N], busy: list[N], family: str) -> N:
    """The first candidate pool that overlaps nothing busy, or dockerd's error (IPv4 and IPv6 alike)."""
    for candidate in candidates:
        if not any(candidate.overlaps(other) for other in busy):
            return candidate
    raise AddressInUse(f"could not find an available, non-overlapping {family} address pool among the defaults "
                       "to assign to the network")


def plan_pool(config: Mapping[str, Any] | None, taken: Iterable[IPv4Network],
              avoid: Iterable[IPv4Network] = ()) -> Pool:
    """A new network's pool from Docker's IPAM config entry (`Subnet`, `IPRange`, `Gateway`, `AuxiliaryAddresses`).

    Without a `Subnet` a predefined one is chosen; `IPRange`/`Gateway` then
    make no sense, as in Docker.
    """
    config = config or {}
    taken = list(taken)
    subnet_text = config.get("Subnet") or ""
    if not subnet_text:
        if config.get("IPRange") or config.get("Gateway"):
            raise NetworkInvalid("ip-range and gateway need a subnet")
        subnet = choose_subnet(taken, avoid)
        return Pool(subnet=subnet, gateway=_first_host(subnet))
    subnet = _parse_subnet(subnet_text, "subnet")
    if subnet.prefixlen > 30:
        raise NetworkInvalid(f"subnet {subnet} is too small: it needs at least 2 addresses besides the gateway")
    if any(subnet.overlaps(other) for other in taken):
        raise PoolOverlap("invalid pool request: Pool overlaps with other one on this address space")
    ip_range = None
    if config.get("IPRange"):
        ip_range = _parse_subnet(str(config["IPRange"]), "ip-range")
        if not ip_range.subnet_of(subnet):
            raise NetworkInvalid(f"ip-range {ip_range} is not within subnet {subnet}")
    gateway = _first_host(subnet)
    if config.get("Gateway"):
        gateway = _parse_address(str(config["Gateway"]), "gateway")
        if not _is_host(subnet, gateway):
            raise NetworkInvalid(f"gateway {gateway} is not a usable address of subnet {subnet}")
    reserved: dict[str, str] = {}
    aux = config.get("AuxiliaryAddresses") or {}
    for name, text in dict(aux).items():
        address = _parse_address(str(text), f"auxiliary address {name}")
        if address not in subnet:
            raise NetworkInvalid(f"auxiliary address {name}={address} is not within subnet {subnet}")
        reserved[str(address)] = f"aux:{name}"
    return Pool(subnet=subnet, gateway=gateway, ip_range=ip_range, user_configured=True, allocated=reserved)


@dataclass
class Pool:
    """One network's addresses: subnet, gateway, optional range for dynamic addresses, who holds what."""

    subnet: IPv4Network
    gateway: IPv4Address
    ip_range: IPv4Network | None = None
    user_configured: bool = False
    allocated: dict[str, str] = field(default_factory=dict)  # address -> owner (endpoint id, "aux:NAME")
    last: str | None = None  # the last address handed out dynamically

    @property
    def gateway_interface(self) -> IPv4Interface:
        """The bridge's address: gateway with the subnet's prefix length."""
        return IPv4Interface(f"{self.gateway}/{self.subnet.prefixlen}")

    def interface(self, address: IPv4Address) -> IPv4Interface:
        return IPv4Interface(f"{address}/{self.subnet.prefixlen}")

    def owner_of(self, address: IPv4Address | str) -> str | None:
        return self.allocated.get(str(address))

    def allocate(self, owner: str, wanted: str | IPv4Address | None = None) -> IPv4Address:
        """An address for `owner`: `wanted` (a static ipv4_address) or the next free one.

        Asking again for an address the owner holds returns it (the engine
        replays allocations after a restart).
        """
        if wanted:
            return self._allocate_static(owner, wanted)
        hosts = self.ip_range or self.subnet
        first, last = int(hosts.network_address), int(hosts.broadcast_address)
        start = int(IPv4Address(self.last)) + 1 if self.last else first
        if not first <= start <= last:
            start = first
        span = last - first + 1
        for step in range(span):
            candidate = IPv4Address(first + (start - first + step) % span)
            if self._free(candidate):
                key = str(candidate)
                self.allocated[key] = owner
                self.last = key
                return candidate
        raise AddressInUse("no available IPv4 addresses on this network's address pools")

    def release(self, address: str | IPv4Address) -> None:
        """Give an address back; releasing an address nobody holds is a no-op."""
        key = str(address)
        if not self.allocated.get(key, "").startswith("aux:"):
            self.allocated.pop(key, None)

    def release_owner(self, owner: str) -> list[IPv4Address]:
        """Give back every address `owner` holds (an endpoint removed after a crash)."""
        mine = [a for a, o in self.allocated.items() if o == owner]
        for key in mine:
            del self.allocated[key]
        return [IPv4Address(a) for a in mine]

    def _allocate_static(self, owner: str, wanted: str | IPv4Address) -> IPv4Address:
        address = _parse_address(str(wanted), "ipv4_address")
        holder = self.allocated.get(str(address))
        if holder == owner:
            return address
        if not self.user_configured:
            raise NetworkInvalid("user specified IP address is supported only when connecting to networks "
                                 "with user configured subnets")
        if not _is_host(self.subnet, address):
            raise NetworkInvalid(f"no configured subnet or ip-range contain the IP address {address}")
        if holder is not None or address == self.gateway:
            raise AddressInUse(f"Address already in use: {address}")
        self.allocated[str(address)] = owner
        return address

    def _free(self, address: IPv4Address) -> bool:
        return (_is_host(self.subnet, address) and address != self.gateway
                and str(address) not in self.allocated)

    def to_json(self) -> dict[str, Any]:
        return {
            "subnet": str(self.subnet),
            "gateway": str(self.gateway),
            "ip_range": str(self.ip_range) if self.ip_range else None,
            "user_configured": self.user_configured,
            "allocated": dict(self.allocated),
            "last": self.last,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Pool:
        return cls(
            subnet=IPv4Network(data["subnet"]),
            gateway=IPv4Address(data["gateway"]),
            ip_range=IPv4Network(data["ip_range"]) if data.get("ip_range") else None,
            user_configured=bool(data.get("user_configured", False)),
            allocated={str(k): str(v) for k, v in dict(data.get("allocated") or {}).items()},
            last=data.get("last"),
        )


def _first_host(subnet: IPv4Network) -> IPv4Address:
    return subnet.network_address + 1


def _is_host(subnet: IPv4Network, address: IPv4Address) -> bool:
    """In the subnet and neither its network nor its broadcast address."""
    return address in subnet and address not in (subnet.network_address, subnet.broadcast_address)


def _parse_subnet(text: str, what: str) -> IPv4Network:
    try:
        net = ip_network(text, strict=False)
    except ValueError as exc:
        raise NetworkInvalid(f"invalid {what} {text}: {exc}") from None
    if not isinstance(net, IPv4Network):
        raise NetworkInvalid(f"invalid {what} {text}: IPv6 is not supported")
    if str(net.network_address) != text.split("/")[0]:
        raise NetworkInvalid(f"invalid {what} {text}: it should be {net}")
    return net


def _parse_address(text: str, what: str) -> IPv4Address:
    try:
        return IPv4Address(text)
    except (AddressValueError, NetmaskValueError):
        raise NetworkInvalid(f"invalid {what} {text!r}: not an IPv4 address") from None
