"""nftables rules of one engine for IPv6: the twin of nat.py in a table `ip6 <prefix>`.

The same sets, maps and chains as the IPv4 table (nat.py, where the design
is told), with IPv6 addresses: masquerade of the dual-stack networks'
IPv6 subnets when they leave through anything but our bridges (as dockerd's
ip6tables rules do), isolation of bridges and internal networks, DNAT of
published ports to the containers' IPv6 addresses (`pub_addr`/`pub_any`),
and published ports reached on ::1, masqueraded as they leave through a
bridge (a packet from ::1 would be dropped by the container's kernel).
The IPv4 scripts are produced once and turned into IPv6 ones by
`to_ip6`: one rule set to read, two families programmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network

from runtime.network import nat
from runtime.network.errors import KernelFailure, NetworkInvalid, PortAllocated


@dataclass(frozen=True)
class NetworkRules6:
    bridge: str
    subnet: IPv6Network
    internal: bool = False
    masquerade: bool = True
    icc: bool = True


@dataclass(frozen=True)
class PortRule6:
    protocol: str
    host_ip: str  # "" for every local IPv6 address
    host_port: int
    container_ip: IPv6Address
    container_port: int


_SWAPS = (
    ("ipv4_addr", "ipv6_addr"),
    (" ip saddr ", " ip6 saddr "),
    (" ip daddr ", " ip6 daddr "),
    ("dnat ip to ip daddr", "dnat ip6 to ip6 daddr"),
    ("dnat ip to ", "dnat ip6 to "),
    ("127.0.0.0/8", "::1"),
)


def to_ip6(prefix: str, script: str) -> str:
    """An IPv4 table script of nat.py made into its IPv6 twin (table `ip6 <prefix>`)."""
    out = script.replace(f" ip {prefix} ", f" ip6 {prefix} ").replace(f" ip {prefix}\n", f" ip6 {prefix}\n")
    for old, new in _SWAPS:
        out = out.replace(old, new)
    return out


def table_script6(prefix: str) -> str:
    # ::1 is relayed by the engine (proxy6.py), never DNATed: its answers could not come back.
    return to_ip6(prefix, nat.table_script(prefix)) + f"insert rule ip6 {prefix} publish ip6 daddr ::1 return\n"


def add_network_script6(prefix: str, net: NetworkRules6) -> str:
    return _net_script(prefix, net, nat.add_network_script)


def remove_network_script6(prefix: str, net: NetworkRules6) -> str:
    return _net_script(prefix, net, nat.remove_network_script)


def _net_script(prefix: str, net: NetworkRules6, make: object) -> str:
    # The subnet in the IPv4 script is a placeholder replaced by the IPv6 one.
    placeholder = "10.255.255.0/24"
    rules = nat.NetworkRules(net.bridge, nat.IPv4Network(placeholder), net.internal, None, net.masquerade, net.icc)
    assert callable(make)
    return to_ip6(prefix, make(prefix, rules)).replace(placeholder, str(net.subnet))


def add_port_script6(prefix: str, rule: PortRule6) -> str:
    return f"add element ip6 {prefix} {_map(rule)} {{ {_key(rule)} : {rule.container_ip} . {rule.container_port} }}\n"


def remove_port_script6(prefix: str, rule: PortRule6) -> str:
    return f"delete element ip6 {prefix} {_map(rule)} {{ {_key(rule)} }}\n"


def _map(rule: PortRule6) -> str:
    return "pub_addr" if rule.host_ip else "pub_any"


def _key(rule: PortRule6) -> str:
    if rule.protocol not in ("tcp", "udp", "sctp"):
        raise NetworkInvalid(f"invalid proto: {rule.protocol}")
    key = f"{rule.protocol} . {int(rule.host_port)}"
    return f"{IPv6Address(rule.host_ip)} . {key}" if rule.host_ip else key


class NatTable6:
    """The engine's table `ip6 <prefix>`, sharing the IPv4 table's libnftables context."""

    def __init__(self, prefix: str, nft: nat.Nftables) -> None:
        self.prefix = prefix
        self.nft = nft

    def reset(self) -> None:
        self.nft.run(f"add table ip6 {self.prefix}\ndelete table ip6 {self.prefix}\n" + table_script6(self.prefix),
                     "nftables ip6 table")

    def add_network(self, net: NetworkRules6) -> None:
        self.nft.run(add_network_script6(self.prefix, net), f"nftables ip6 network {net.bridge}")

    def remove_network(self, net: NetworkRules6) -> None:
        _run_tolerant(self.nft, remove_network_script6(self.prefix, net), f"nftables ip6 network {net.bridge}")

    def add_ports(self, rules: list[PortRule6]) -> None:
        if not rules:
            return
        try:
            self.nft.run("".join(add_port_script6(self.prefix, r) for r in rules), "nftables ip6 ports")
        except KernelFailure as exc:
            if "File exists" in exc.message:
                raise PortAllocated(f"[{rules[0].host_ip or '::'}]", rules[0].host_port) from None
            raise

    def remove_ports(self, rules: list[PortRule6]) -> None:
        if rules:
            _run_tolerant(self.nft, "".join(remove_port_script6(self.prefix, r) for r in rules), "nftables ip6 ports")

    def listing(self) -> str:
        return self.nft.run(f"list table ip6 {self.prefix}", "nftables list")


def cleanup6(prefix: str, nft: nat.Nftables | None = None) -> None:
    """Remove the engine's IPv6 table if it exists."""
    own = nft is None
    nft = nft or nat.Nftables()
    try:
        nft.run(f"add table ip6 {prefix}\ndelete table ip6 {prefix}", "nftables cleanup")
    finally:
        if own:
            nft.close()


def _run_tolerant(nft: nat.Nftables, script: str, phase: str) -> None:
    try:
        nft.run(script, phase)
    except KernelFailure:
        for line in script.splitlines():
            try:
                nft.run(line, phase)
            except KernelFailure:
                continue
