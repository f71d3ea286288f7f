"""IPv6 IPAM: the default ULA pool, given subnets, serial and static addresses, host routes."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

import pytest

from runtime.network.errors import AddressInUse, NetworkInvalid, PoolOverlap
from runtime.network.ipam6 import Pool6, parse_proc_ipv6_routes, plan_pool6

Z = "0" * 32
ROUTES = "".join(f"{d} {plen} {Z} 00 {gw} 00000100 00000001 00000000 {flags} {dev}\n" for d, plen, gw, flags, dev in (
    ("fd" + "0" * 30, "40", Z, "00000001", "eth0"),
    ("fe80" + "0" * 28, "40", Z, "00000001", "eth0"),
    ("fd00000000000001" + "0" * 16, "40", Z, "00000001", "pycabbr1"),
    (Z, "00", "fd" + "0" * 29 + "1", "00000003", "eth0"),
))


def test_host_routes_without_default_link_local_and_ours() -> None:
    assert parse_proc_ipv6_routes(ROUTES, "pycab") == [IPv6Network("fd00::/64")]


def test_default_pool_skips_host_routes_and_our_networks() -> None:
    pool = plan_pool6(None, [IPv6Network("fd00:0:0:1::/64")], parse_proc_ipv6_routes(ROUTES, "pycab"))
    assert pool.subnet == IPv6Network("fd00:0:0:2::/64")
    assert pool.gateway == IPv6Address("fd00:0:0:2::1") and not pool.user_configured


def test_given_subnet_gateway_range_and_checks() -> None:
    pool = plan_pool6({"Subnet": "fd7c::/64", "Gateway": "fd7c::fe", "IPRange": "fd7c::100/120"}, [])
    assert pool.gateway == IPv6Address("fd7c::fe") and pool.user_configured
    assert pool.allocate("e1") == IPv6Address("fd7c::100")
    assert pool.allocate("e2") == IPv6Address("fd7c::101")
    assert pool.allocate("e3", "fd7c::9") == IPv6Address("fd7c::9")
    with pytest.raises(AddressInUse):
        pool.allocate("e4", "fd7c::9")
    with pytest.raises(NetworkInvalid):
        pool.allocate("e4", "fd7d::9")
    assert pool.release_owner("e1") == [IPv6Address("fd7c::100")]
    assert Pool6.from_json(pool.to_json()) == pool
    with pytest.raises(PoolOverlap):
        plan_pool6({"Subnet": "fd7c::/48"}, [IPv6Network("fd7c::/64")])
    for bad in ({"Subnet": "fd7c::1/64"}, {"Subnet": "10.0.0.0/24"}, {"Gateway": "fd7c::1"},
                {"Subnet": "fd7c::/64", "IPRange": "fd7d::/120"}):
        with pytest.raises(NetworkInvalid):
            plan_pool6(bad, [])


def test_serial_allocation_skips_gateway_and_anycast() -> None:
    pool = plan_pool6({"Subnet": "fd7c::/64"}, [])
    assert [pool.allocate(f"e{i}") for i in range(2)] == [IPv6Address("fd7c::2"), IPv6Address("fd7c::3")]
    dynamic = Pool6(IPv6Network("fd7c::/64"), IPv6Address("fd7c::1"))
    with pytest.raises(NetworkInvalid, match="user configured"):
        dynamic.allocate("e1", "fd7c::5")
