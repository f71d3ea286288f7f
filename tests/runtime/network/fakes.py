"""Kernel stand-ins for the network manager: links and an nftables table that only record what they are told."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Interface
from pathlib import Path
from typing import Any

from runtime.network.bridge import Endpoint, EndpointConfig, mac_address
from runtime.network.errors import KernelFailure
from runtime.network.manager import NetworkManager
from runtime.network.nat import NetworkRules


@dataclass
class FakeLinks:
    bridges: dict[str, IPv4Interface] = field(default_factory=dict)
    veths: dict[str, EndpointConfig] = field(default_factory=dict)
    loopbacks: list[int | str] = field(default_factory=list)
    fail_attach: set[str] = field(default_factory=set)  # bridge names whose attach fails

    def ensure_bridge(self, name: str, gateway: IPv4Interface, mtu: int | None = None, *,
                      route_localnet: bool = True) -> int:
        self.bridges[name] = gateway
        return len(self.bridges)

    def remove_link(self, name: str) -> bool:
        found = name in self.bridges or name in self.veths
        self.bridges.pop(name, None)
        self.veths.pop(name, None)
        return found

    def links(self, prefix: str) -> list[str]:
        return sorted(n for n in [*self.bridges, *self.veths] if n.startswith(prefix))

    def remove_stale(self, prefix: str, keep: Iterable[str]) -> list[str]:
        wanted = set(keep)
        stale = [n for n in self.links(prefix) if n not in wanted]
        return [n for n in stale if self.remove_link(n)]

    def attach(self, cfg: EndpointConfig) -> Endpoint:
        if cfg.bridge in self.fail_attach:
            raise KernelFailure(f"veth {cfg.host_ifname}", "refused by the test")
        if cfg.bridge not in self.bridges:
            raise KernelFailure(f"veth {cfg.host_ifname}", f"no bridge {cfg.bridge}")
        self.veths[cfg.host_ifname] = cfg
        return Endpoint(cfg.host_ifname, cfg.ifname, cfg.mac or mac_address(cfg.address.ip), cfg.address)

    def detach(self, host_ifname: str) -> bool:
        return self.remove_link(host_ifname)

    def loopback_up(self, netns: int | str) -> None:
        self.loopbacks.append(netns)

    def close(self) -> None:
        pass


@dataclass
class FakeNft:
    scripts: list[str] = field(default_factory=list)

    def run(self, script: str, phase: str = "nftables") -> str:
        self.scripts.append(script)
        return ""

    def close(self) -> None:
        pass


@dataclass
class FakeTable:
    nft: FakeNft = field(default_factory=FakeNft)
    networks: dict[str, NetworkRules] = field(default_factory=dict)
    resets: int = 0

    def reset(self) -> None:
        self.resets += 1
        self.networks.clear()

    def add_network(self, net: NetworkRules) -> None:
        self.networks[net.bridge] = net

    def remove_network(self, net: NetworkRules) -> None:
        self.networks.pop(net.bridge, None)

    def remove_port(self, rule: Any) -> None:
        pass

    def ports(self) -> set[str]:
        """`proto . port : address . port` elements added and not deleted, from the scripts run."""
        held: set[str] = set()
        for script in self.nft.scripts:
            for line in script.splitlines():
                if "{" not in line or " ip6 " in line:
                    continue  # the IPv6 table's scripts (nat6.py) are checked on the kernel
                body = line.split("{", 1)[1].rsplit("}", 1)[0].strip()
                key = body.split(":", 1)[0].strip()
                if line.startswith("add element"):
                    held.add(key)
                elif line.startswith("delete element"):
                    held.discard(key)
        return held


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fake_manager(root: Path, prefix: str = "pyc0000", routes: list[Any] | None = None) -> NetworkManager:
    """A network manager over fake links and tables, its DNS on a free high port, its host lock under `root`."""
    return NetworkManager(root, prefix, links=FakeLinks(), table=FakeTable(), dns_port=free_udp_port(),
                          routes=lambda _prefix: list(routes or []), lock_path=root / "ipam.lock")
