"""The IPv6 half of dual-stack bridge networks: kernel state and the manager's IPv6 bookkeeping.

A network created with `EnableIPv6` has an IPv6 pool (ipam6.py) beside its
IPv4 one: its bridge holds both gateways, each endpoint gets an IPv6
address (DAD off, usable at once) and a default IPv6 route, and the table
`ip6 <prefix>` (nat6.py) masquerades, isolates and publishes as the IPv4
table does. IPv6 forwarding is turned on when the first dual-stack network
that may route out is made (dockerd does the same, and leaves it on).
Blocking calls: run them from worker threads.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Iterable, Mapping, Sequence
from ipaddress import IPv6Address, IPv6Interface, IPv6Network, ip_interface
from pathlib import Path
from typing import Any

from runtime.linux.rtnl import Rtnl
from runtime.network.errors import KernelFailure, NetworkInvalid
from runtime.network.ipam6 import Pool6, parse_proc_ipv6_routes, plan_pool6
from runtime.network.nat6 import NatTable6, NetworkRules6, PortRule6
from runtime.network.ports import Published
from runtime.network.store import NetworkRecord

PROC = Path("/proc")
log = logging.getLogger("pycompose.network")


def read_host_routes6(ignore_prefix: str = "") -> list[IPv6Network]:
    try:
        text = (PROC / "net/ipv6_route").read_text()
    except OSError:
        return []
    return parse_proc_ipv6_routes(text, ignore_prefix)


def taken6(networks: Iterable[NetworkRecord]) -> list[IPv6Network]:
    return [IPv6Network(n.pool6["subnet"]) for n in networks if n.pool6]


def new_pool6(config: Mapping[str, Any] | None, networks: Iterable[NetworkRecord], prefix: str) -> Pool6:
    return plan_pool6(config, taken6(networks), read_host_routes6(prefix))


def rules6_of(network: NetworkRecord) -> NetworkRules6 | None:
    if network.pool6 is None:
        return None
    opts = network.bridge_options()
    return NetworkRules6(network.bridge, IPv6Network(network.pool6["subnet"]), network.internal, opts.masquerade,
                         opts.icc)


def _sysctl(name: str, value: str) -> None:
    try:
        (PROC / "sys" / name).write_text(value)
    except OSError as exc:
        raise KernelFailure("sysctl " + name.replace("/", "."), exc.strerror or str(exc)) from exc


def enable_ipv6_forward() -> None:
    _sysctl("net/ipv6/conf/all/forwarding", "1")


def bridge_ipv6(bridge: str, gateway: IPv6Interface) -> None:
    """IPv6 on the bridge: enabled, no DAD, the gateway address (kept if there after a restart)."""
    _sysctl(f"net/ipv6/conf/{bridge}/disable_ipv6", "0")
    _sysctl(f"net/ipv6/conf/{bridge}/accept_dad", "0")
    with Rtnl() as rt:
        index = rt.index(bridge)
        if index is None:
            raise KernelFailure(f"bridge {bridge}", "no such bridge")
        try:
            rt.add_address(index, gateway)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise KernelFailure(f"bridge {bridge}", f"IPv6 gateway {gateway}: {exc.strerror}") from exc


def reset6(table: NatTable6) -> None:
    """A fresh `ip6` table; a kernel without IPv6 keeps the engine going (dual-stack networks then fail)."""
    try:
        table.reset()
    except KernelFailure as exc:
        log.warning("no IPv6 nftables table: %s", exc.message)


def make6(table: NatTable6, network: NetworkRecord) -> None:
    """The IPv6 half of a dual-stack network's bridge and rules (nothing for an IPv4-only one)."""
    rules6, pool6 = rules6_of(network), network.get_pool6()
    if rules6 is None or pool6 is None:
        return
    if not network.internal:
        enable_ipv6_forward()
    bridge_ipv6(network.bridge, pool6.gateway_interface)
    table.add_network(rules6)


def allocate6(network: NetworkRecord, owner: str, wanted: str = "", held: str = "") -> IPv6Interface | None:
    """An IPv6 address on a dual-stack network (None on an IPv4-only one, where a static one is refused)."""
    pool = network.get_pool6()
    if pool is None:
        if wanted:
            raise NetworkInvalid(f"invalid IPv6 address {wanted}: network {network.name} has no IPv6 subnet "
                                 "(create it with --ipv6)")
        return None
    if held:
        pool.allocated[held] = owner
        address = IPv6Address(held)
    else:
        address = pool.allocate(owner, wanted or None)
    network.set_pool6(pool)
    return pool.interface(address)


def release6(network: NetworkRecord, owner: str) -> bool:
    pool = network.get_pool6()
    if pool is None or not pool.release_owner(owner):
        return False
    network.set_pool6(pool)
    return True


def link_local(addresses: Sequence[str]) -> tuple[str, ...]:
    """IPAMConfig.LinkLocalIPs as interfaces: 169.254.0.0/16 and fe80::/64 addresses only, as dockerd checks."""
    out = []
    for text in addresses:
        try:
            iface = ip_interface(str(text).split("/")[0])
        except ValueError:
            raise NetworkInvalid(f"invalid link-local IP address: {text}") from None
        if not iface.ip.is_link_local:
            raise NetworkInvalid(f"invalid link-local IP address: {text} is not a link-local address")
        out.append(f"{iface.ip}/{16 if iface.version == 4 else 64}")
    return tuple(out)


def port_rules6(published: Iterable[Published], container_ip6: IPv6Address | None) -> list[PortRule6]:
    """DNAT rules of the ports published on IPv6 host addresses (`::` is every local address)."""
    if container_ip6 is None:
        return []
    return [PortRule6(p.protocol, "" if p.host_ip == "::" else p.host_ip, p.host_port, container_ip6,
                      p.container_port) for p in published if ":" in p.host_ip]
