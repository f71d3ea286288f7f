"""Published ports of a running container: host ports held, DNAT rules in both tables, ::1 relays.

The manager's `publish`/`unpublish` are these functions. A port published
on every address (`HostIp` "") of a container with an IPv6 address is also
published on `::` on the same host port, as dockerd does on a dual-stack
network; IPv4 bindings go to the `ip` table (nat.py), IPv6 ones to the `ip6`
table (nat6.py), TCP ones on `::`/`::1` also get a ::1 relay (proxy6.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv6Address
from typing import Any, Protocol

import anyio.to_thread

from runtime.network import dual, nat
from runtime.network.errors import NetworkError, NetworkInvalid
from runtime.network.nat6 import NatTable6
from runtime.network.ports import PortReservations, PortSpec, Published
from runtime.network.proxy6 import LoopbackProxies


class NetworkManager(Protocol):
    """What of the manager publishing uses (manager.py imports this module, not the other way)."""

    prefix: str
    ports: PortReservations
    proxies: LoopbackProxies | None

    @property
    def nat(self) -> Any: ...

    @property
    def nat6(self) -> NatTable6: ...


def _rule(published: Published, container_ip: IPv4Address) -> nat.PortRule:
    return nat.PortRule(published.protocol, published.host_ip, published.host_port, container_ip,
                        published.container_port)


async def publish(nets: NetworkManager, owner: str, specs: Sequence[PortSpec], container_ip: IPv4Address,
                  exact: Sequence[Published] = (), container_ip6: IPv6Address | None = None) -> list[Published]:
    wanted = [*specs, *(PortSpec(p.container_port, p.protocol, p.host_ip, p.host_port) for p in exact)]
    published: list[Published] = []
    try:
        for spec in wanted:
            if ":" in spec.host_ip and container_ip6 is None:
                raise NetworkInvalid(f"cannot publish on [{spec.host_ip}]:{spec.host_port}: the container has "
                                     "no IPv6 address (its network was not created with --ipv6)")
            published.append(p := nets.ports.reserve(owner, spec))
            if container_ip6 is not None and not p.host_ip and not exact:
                # Every address means IPv6 ones too on a dual-stack network, on the same host port.
                published.append(nets.ports.reserve(owner, PortSpec(p.container_port, p.protocol, "::",
                                                                    p.host_port)))
        rules = [_rule(p, container_ip) for p in published if ":" not in p.host_ip]
        if rules:
            script = "".join(nat.add_port_script(nets.prefix, r) for r in rules)
            await anyio.to_thread.run_sync(nets.nat.nft.run, script, "nftables ports")
        rules6 = dual.port_rules6(published, container_ip6)
        if rules6:
            await anyio.to_thread.run_sync(nets.nat6.add_ports, rules6)
        for p in published:
            sock = nets.ports.socket_of(p)
            if container_ip6 and nets.proxies and sock and p.protocol == "tcp" and p.host_ip in ("::", "::1"):
                nets.proxies.start(owner, sock, container_ip6, p.container_port)
    except BaseException:
        _release(nets, owner)
        raise
    return published


def _release(nets: NetworkManager, owner: str) -> list[Published]:
    if nets.proxies is not None:
        nets.proxies.stop(owner)
    return nets.ports.release(owner)


def unpublish(nets: NetworkManager, owner: str, container_ip: IPv4Address | None,
              container_ip6: IPv6Address | None = None) -> None:
    published = _release(nets, owner)
    if not published or container_ip is None:
        return
    nets.nat6.remove_ports(dual.port_rules6(published, container_ip6))
    rules = [_rule(p, container_ip) for p in published if ":" not in p.host_ip]
    if not rules:
        return
    try:
        nets.nat.nft.run("".join(nat.remove_port_script(nets.prefix, r) for r in rules), "nftables ports")
    except NetworkError:
        for rule in rules:
            with contextlib.suppress(NetworkError):
                nets.nat.remove_port(rule)
