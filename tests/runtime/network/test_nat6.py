"""The ip6 table: the IPv4 rules' twin, loaded into the kernel and listed back."""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv6Address, IPv6Network

import pytest

from runtime.network import nat
from runtime.network.nat6 import NatTable6, NetworkRules6, PortRule6, cleanup6, table_script6

pytestmark = pytest.mark.root


def test_script_is_ipv6_throughout() -> None:
    script = table_script6("pyx1")
    assert "ipv4_addr" not in script and " ip saddr" not in script and "127.0.0.0" not in script
    assert "add table ip6 pyx1" in script and "publish ip6 daddr ::1 return" in script


@pytest.fixture
def table6(prefix: str) -> Iterator[NatTable6]:
    with nat.Nftables() as nft:
        table = NatTable6(prefix, nft)
        table.reset()
        try:
            yield table
        finally:
            cleanup6(prefix, nft)


def test_network_and_ports_in_the_kernel(table6: NatTable6, prefix: str) -> None:
    net = NetworkRules6(f"{prefix}br9", IPv6Network("fd7c:1::/64"), icc=False, masquerade=False)
    table6.add_network(net)
    rule = PortRule6("tcp", "", 18080, IPv6Address("fd7c:1::2"), 80)
    table6.add_ports([rule])
    listing = table6.listing()
    assert "fd7c:1::/64" in listing and "tcp . 18080 : fd7c:1::2 . 80" in listing
    assert "masq_subnets" in listing and "elements = { fd7c:1::/64 }" in listing  # subnets only: no masquerade
    assert listing.count("fd7c:1::/64") == 1
    assert f'oifname "{prefix}br9" drop' in listing  # enable_icc=false
    table6.remove_ports([rule])
    table6.remove_network(net)
    listing = table6.listing()
    assert "fd7c:1" not in listing and "from_" not in listing
