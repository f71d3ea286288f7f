"""nftables rules of one engine: outbound NAT, isolation, published ports.

Everything lives in one table `ip <prefix>`, so `cleanup(prefix)` removes it
all at once and engines never touch each other's rules. The table is built
around sets and maps; a network or a published port is a few elements (and,
for a network, its own forward chain), added and removed in one atomic
transaction:

- `bridges`, `subnets`: every bridge and subnet of ours; `masq_subnets` the
  non-internal ones, masqueraded when they leave through anything but one of
  our bridges.
- `pub_addr` (host ip . proto . port) and `pub_any` (proto . port) map a
  published port to container ip . port; DNAT in prerouting and in output,
  for destinations of type local. Published on 127.0.0.1 needs
  route_localnet=1 on the bridge (bridge.py) and masquerade of 127.0.0.0/8
  leaving through it; a container reaching a published port of its own
  bridge (hairpin) or of another needs masquerade of DNATed traffic, since
  br_netfilter hands bridged packets to these hooks (RUNTIME-FACTS).
- `fwd_from`/`fwd_to` send forwarded traffic to a per-network chain: a bridge
  may not reach another of our bridges (unless DNATed: published ports are
  for everyone), an internal network reaches nothing outside its bridge.
- `guard` drops packets from our bridges to 127.0.0.0/8: route_localnet
  would otherwise let containers reach the host's loopback services.

libnftables is driven through ctypes (0.7 ms a ruleset, 0.1 ms an element;
the `nft` binary costs 10-20 ms a call).
"""

from __future__ import annotations

import ctypes
import re
import threading
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from runtime.network.errors import KernelFailure, NetworkInvalid, PortAllocated

LIBNFTABLES = "libnftables.so.1"
_SAFE = re.compile(r"[^A-Za-z0-9_]")


@dataclass(frozen=True)
class NetworkRules:
    bridge: str
    subnet: IPv4Network
    internal: bool = False
    dns_address: IPv4Address | None = None  # where the embedded DNS listens: never DNATed
    masquerade: bool = True  # enable_ip_masquerade
    icc: bool = True  # enable_icc: containers of this bridge may talk to each other


@dataclass(frozen=True)
class PortRule:
    protocol: str  # tcp, udp, sctp
    host_ip: str  # "" for every local address
    host_port: int
    container_ip: IPv4Address
    container_port: int


class Nftables:
    """A libnftables context with buffered output; calls are serialised."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        try:
            lib = ctypes.CDLL(LIBNFTABLES)
        except OSError as exc:
            raise KernelFailure("nftables", f"cannot load {LIBNFTABLES}: {exc}") from exc
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_output_buffer.restype = ctypes.c_char_p
        lib.nft_ctx_get_output_buffer.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
        lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        self._lib: Any = lib
        self._ctx: int | None = lib.nft_ctx_new(0)
        if not self._ctx:
            raise KernelFailure("nftables", "nft_ctx_new failed")
        lib.nft_ctx_buffer_output(self._ctx)
        lib.nft_ctx_buffer_error(self._ctx)

    def run(self, script: str, phase: str = "nftables") -> str:
        """Run commands as one transaction; their output, or KernelFailure with nft's error text."""
        with self._lock:
            if self._ctx is None:
                raise KernelFailure(phase, "nftables context closed")
            rc = self._lib.nft_run_cmd_from_buffer(self._ctx, script.encode())
            out = (self._lib.nft_ctx_get_output_buffer(self._ctx) or b"").decode(errors="replace")
            err = (self._lib.nft_ctx_get_error_buffer(self._ctx) or b"").decode(errors="replace")
        if rc != 0:
            raise KernelFailure(phase, _first_error(err) or f"nft failed ({rc})")
        return out

    def close(self) -> None:
        with self._lock:
            if self._ctx is not None:
                self._lib.nft_ctx_free(self._ctx)
                self._ctx = None

    def __enter__(self) -> Nftables:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class NatTable:
    """The engine's table `ip <prefix>`."""

    def __init__(self, prefix: str, nft: Nftables | None = None) -> None:
        if _SAFE.search(prefix):
            raise NetworkInvalid(f"invalid nftables table name {prefix!r}")
        self.prefix = prefix
        self.nft = nft or Nftables()

    def exists(self) -> bool:
        try:
            self.nft.run(f"list table ip {self.prefix}", "nftables list")
        except KernelFailure:
            return False
        return True

    def ensure(self) -> None:
        """Create the table with its sets, maps and base chains unless it is there (engine restart)."""
        if not self.exists():
            self.nft.run(table_script(self.prefix), "nftables table")

    def reset(self) -> None:
        """Start from an empty table: the engine then adds its networks and ports again."""
        self.nft.run(f"add table ip {self.prefix}\ndelete table ip {self.prefix}\n"
                     + table_script(self.prefix), "nftables table")

    def add_network(self, net: NetworkRules) -> None:
        self.nft.run(add_network_script(self.prefix, net), f"nftables network {net.bridge}")

    def remove_network(self, net: NetworkRules) -> None:
        self._run_tolerant(remove_network_script(self.prefix, net), f"nftables network {net.bridge}")

    def add_port(self, rule: PortRule) -> None:
        try:
            self.nft.run(add_port_script(self.prefix, rule), "nftables port")
        except KernelFailure as exc:
            if "File exists" in exc.message:
                raise PortAllocated(rule.host_ip, rule.host_port) from None
            raise

    def remove_port(self, rule: PortRule) -> None:
        self._run_tolerant(remove_port_script(self.prefix, rule), "nftables port")

    def listing(self) -> str:
        """The table as `nft list` prints it (tests, debugging)."""
        return self.nft.run(f"list table ip {self.prefix}", "nftables list")

    def delete(self) -> None:
        cleanup(self.prefix, self.nft)

    def _run_tolerant(self, script: str, phase: str) -> None:
        """Removal is idempotent: if the batch fails (something already gone), remove piece by piece."""
        try:
            self.nft.run(script, phase)
        except KernelFailure:
            for line in script.splitlines():
                try:
                    self.nft.run(line, phase)
                except KernelFailure:
                    continue


def cleanup(prefix: str, nft: Nftables | None = None) -> None:
    """Remove the engine's table if it exists (shutdown, tests, crash recovery)."""
    own = nft is None
    nft = nft or Nftables()
    try:
        # Adding first makes the delete succeed whether or not the table existed.
        nft.run(f"add table ip {prefix}\ndelete table ip {prefix}", "nftables cleanup")
    finally:
        if own:
            nft.close()


def table_script(prefix: str) -> str:
    t = f"ip {prefix}"
    return f"""add table {t}
add set {t} bridges {{ type ifname; }}
add set {t} subnets {{ type ipv4_addr; flags interval; }}
add set {t} masq_subnets {{ type ipv4_addr; flags interval; }}
add set {t} dns_addrs {{ type ipv4_addr; }}
add map {t} pub_addr {{ type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }}
add map {t} pub_any {{ type inet_proto . inet_service : ipv4_addr . inet_service; }}
add map {t} fwd_from {{ type ifname : verdict; }}
add map {t} fwd_to {{ type ifname : verdict; }}
add chain {t} publish
add rule {t} publish ip daddr @dns_addrs meta l4proto {{ tcp, udp }} th dport 53 return
add rule {t} publish dnat ip to ip daddr . meta l4proto . th dport map @pub_addr
add rule {t} publish dnat ip to meta l4proto . th dport map @pub_any
add chain {t} prerouting {{ type nat hook prerouting priority -100; policy accept; }}
add rule {t} prerouting fib daddr type local jump publish
add chain {t} output {{ type nat hook output priority -100; policy accept; }}
add rule {t} output fib daddr type local jump publish
add chain {t} postrouting {{ type nat hook postrouting priority 100; policy accept; }}
add rule {t} postrouting oifname @bridges ip saddr 127.0.0.0/8 masquerade
add rule {t} postrouting oifname @bridges ct status dnat ip saddr @subnets masquerade
add rule {t} postrouting oifname != @bridges ip saddr @masq_subnets masquerade
add chain {t} forward {{ type filter hook forward priority 0; policy accept; }}
add rule {t} forward iifname vmap @fwd_from
add rule {t} forward oifname vmap @fwd_to
add chain {t} guard {{ type filter hook prerouting priority -300; policy accept; }}
add rule {t} guard iifname @bridges ip daddr 127.0.0.0/8 drop
"""


def add_network_script(prefix: str, net: NetworkRules) -> str:
    t, br = f"ip {prefix}", _quote(net.bridge)
    src, dst = _chain("from", net.bridge), _chain("to", net.bridge)
    lines = [
        f"add element {t} bridges {{ {br} }}",
        f"add element {t} subnets {{ {net.subnet} }}",
        f"add chain {t} {src}",
        f"flush chain {t} {src}",
    ]
    if net.icc:
        lines.append(f"add rule {t} {src} oifname {br} return")
    else:
        # Published ports stay reachable (hairpin); direct traffic between containers does not.
        lines += [f"add rule {t} {src} oifname {br} ct status dnat return", f"add rule {t} {src} oifname {br} drop"]
    if net.internal:
        lines += [
            f"add rule {t} {src} drop",
            f"add chain {t} {dst}",
            f"flush chain {t} {dst}",
            f"add rule {t} {dst} iifname {br} return",
            f"add rule {t} {dst} drop",
            f"add element {t} fwd_to {{ {br} : jump {dst} }}",
        ]
    else:
        if net.masquerade:
            lines.append(f"add element {t} masq_subnets {{ {net.subnet} }}")
        lines += [
            f"add rule {t} {src} ct status dnat return",
            f"add rule {t} {src} oifname @bridges drop",
        ]
    lines.append(f"add element {t} fwd_from {{ {br} : jump {src} }}")
    if net.dns_address is not None:
        lines.append(f"add element {t} dns_addrs {{ {net.dns_address} }}")
    return "\n".join(lines) + "\n"


def remove_network_script(prefix: str, net: NetworkRules) -> str:
    t, br = f"ip {prefix}", _quote(net.bridge)
    src, dst = _chain("from", net.bridge), _chain("to", net.bridge)
    lines = [f"delete element {t} fwd_from {{ {br} }}", f"flush chain {t} {src}", f"delete chain {t} {src}"]
    if net.internal:
        lines += [f"delete element {t} fwd_to {{ {br} }}", f"flush chain {t} {dst}", f"delete chain {t} {dst}"]
    elif net.masquerade:
        lines.append(f"delete element {t} masq_subnets {{ {net.subnet} }}")
    lines += [f"delete element {t} subnets {{ {net.subnet} }}", f"delete element {t} bridges {{ {br} }}"]
    if net.dns_address is not None:
        lines.append(f"delete element {t} dns_addrs {{ {net.dns_address} }}")
    return "\n".join(lines) + "\n"


def add_port_script(prefix: str, rule: PortRule) -> str:
    key, target = _port_key(rule), f"{rule.container_ip} . {rule.container_port}"
    return f"add element ip {prefix} {_port_map(rule)} {{ {key} : {target} }}\n"


def remove_port_script(prefix: str, rule: PortRule) -> str:
    return f"delete element ip {prefix} {_port_map(rule)} {{ {_port_key(rule)} }}\n"


def _port_map(rule: PortRule) -> str:
    return "pub_addr" if rule.host_ip else "pub_any"


def _port_key(rule: PortRule) -> str:
    if rule.protocol not in ("tcp", "udp", "sctp"):
        raise NetworkInvalid(f"invalid proto: {rule.protocol}")
    key = f"{rule.protocol} . {int(rule.host_port)}"
    return f"{IPv4Address(rule.host_ip)} . {key}" if rule.host_ip else key


def _chain(direction: str, bridge: str) -> str:
    return f"{direction}_{_SAFE.sub('_', bridge)}"


def _quote(name: str) -> str:
    if '"' in name or "\\" in name:
        raise NetworkInvalid(f"invalid interface name {name!r}")
    return f'"{name}"'


def _first_error(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("Error")]
    return lines[0] if lines else text.strip()
