"""IPAM: Docker's predefined pools, conflicts with host routes, custom subnets, static and serial addresses."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest

from runtime.network.errors import AddressInUse, NetworkInvalid, PoolOverlap
from runtime.network.ipam import Pool, choose_subnet, parse_proc_routes, plan_pool, predefined_subnets

N = IPv4Network
A = IPv4Address

PROC_ROUTE = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
podman1\t0000590A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
pyc1234br0\t000012AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
down0\t000013AC\t00000000\t0000\t0\t0\t0\t0000FFFF\t0\t0\t0
"""


def test_predefined_order_is_dockers() -> None:
    subnets = list(predefined_subnets())
    assert subnets[:3] == [N("172.17.0.0/16"), N("172.18.0.0/16"), N("172.19.0.0/16")]
    assert subnets[14] == N("172.31.0.0/16")
    assert subnets[15:17] == [N("192.168.0.0/20"), N("192.168.16.0/20")]
    assert subnets[-1] == N("192.168.240.0/20")
    assert len(subnets) == 15 + 16


def test_proc_routes_parsed_without_default_ours_or_down() -> None:
    routes = parse_proc_routes(PROC_ROUTE, ignore_prefix="pyc1234")
    assert routes == [N("192.0.2.0/24"), N("172.17.0.0/16"), N("10.89.0.0/24")]
    assert N("172.18.0.0/16") in parse_proc_routes(PROC_ROUTE)


def test_choose_skips_host_routes_and_our_networks() -> None:
    assert choose_subnet([]) == N("172.17.0.0/16")
    host = parse_proc_routes(PROC_ROUTE, ignore_prefix="pyc1234")
    assert choose_subnet([], host) == N("172.18.0.0/16")
    assert choose_subnet([N("172.18.0.0/16"), N("172.19.0.0/16")], host) == N("172.20.0.0/16")
    # A small route inside a pool is enough to skip the whole pool.
    assert choose_subnet([], [N("172.17.5.0/24")]) == N("172.18.0.0/16")


def test_choose_moves_to_192_168_and_then_fails() -> None:
    assert choose_subnet([N("172.16.0.0/12")]) == N("192.168.0.0/20")
    assert choose_subnet([N("172.16.0.0/12"), N("192.168.0.0/20")]) == N("192.168.16.0/20")
    with pytest.raises(AddressInUse, match="non-overlapping IPv4 address pool"):
        choose_subnet([N("172.16.0.0/12")], [N("192.168.0.0/16")])


def test_plan_pool_default_gets_first_free_subnet_and_dot_one_gateway() -> None:
    pool = plan_pool(None, [N("172.17.0.0/16")], [N("10.89.0.0/24")])
    assert pool.subnet == N("172.18.0.0/16")
    assert pool.gateway == A("172.18.0.1")
    assert str(pool.gateway_interface) == "172.18.0.1/16"
    assert not pool.user_configured


def test_plan_pool_custom() -> None:
    pool = plan_pool({"Subnet": "10.5.0.0/16", "IPRange": "10.5.7.0/24", "Gateway": "10.5.0.254"}, [])
    assert (pool.subnet, pool.ip_range, pool.gateway) == (N("10.5.0.0/16"), N("10.5.7.0/24"), A("10.5.0.254"))
    assert pool.user_configured
    assert pool.allocate("e1") == A("10.5.7.0")  # a host address of the /16, as in Docker


def test_plan_pool_custom_ignores_host_routes_but_not_our_networks() -> None:
    assert plan_pool({"Subnet": "172.17.0.0/16"}, [], [N("172.17.0.0/16")]).subnet == N("172.17.0.0/16")
    with pytest.raises(PoolOverlap, match="Pool overlaps with other one on this address space") as info:
        plan_pool({"Subnet": "172.18.3.0/24"}, [N("172.18.0.0/16")])
    assert info.value.status == 403


@pytest.mark.parametrize(("config", "message"), [
    ({"Subnet": "10.5.1.0/16"}, "it should be 10.5.0.0/16"),
    ({"Subnet": "nonsense"}, "invalid subnet"),
    ({"Subnet": "fd00::/64"}, "IPv6 is not supported"),
    ({"Subnet": "10.5.0.0/31"}, "too small"),
    ({"Subnet": "10.5.0.0/24", "Gateway": "10.6.0.1"}, "not a usable address"),
    ({"Subnet": "10.5.0.0/24", "Gateway": "10.5.0.255"}, "not a usable address"),
    ({"Subnet": "10.5.0.0/24", "IPRange": "10.6.0.0/25"}, "not within subnet"),
    ({"Gateway": "10.5.0.1"}, "need a subnet"),
    ({"Subnet": "10.5.0.0/24", "AuxiliaryAddresses": {"x": "10.7.0.1"}}, "not within subnet"),
])
def test_plan_pool_refuses_bad_config(config: dict[str, object], message: str) -> None:
    with pytest.raises(NetworkInvalid, match=message) as info:
        plan_pool(config, [])
    assert info.value.status == 400


def test_serial_allocation_does_not_reuse_at_once() -> None:
    pool = Pool(subnet=N("10.9.0.0/29"), gateway=A("10.9.0.1"))
    assert [pool.allocate(f"e{i}") for i in range(3)] == [A("10.9.0.2"), A("10.9.0.3"), A("10.9.0.4")]
    pool.release("10.9.0.2")
    assert pool.allocate("e3") == A("10.9.0.5")
    assert pool.allocate("e4") == A("10.9.0.6")
    # The end of the subnet reached: wrap around to the released address.
    assert pool.allocate("e5") == A("10.9.0.2")
    with pytest.raises(AddressInUse, match="no available IPv4 addresses"):
        pool.allocate("e6")


def test_ip_range_limits_dynamic_addresses_only() -> None:
    pool = plan_pool({"Subnet": "10.9.0.0/24", "IPRange": "10.9.0.8/30"}, [])
    assert [pool.allocate(f"e{i}") for i in range(4)] == [A(f"10.9.0.{n}") for n in (8, 9, 10, 11)]
    with pytest.raises(AddressInUse):
        pool.allocate("e9")
    assert pool.allocate("s", "10.9.0.100") == A("10.9.0.100")


def test_static_addresses() -> None:
    pool = plan_pool({"Subnet": "10.9.0.0/24"}, [])
    assert pool.allocate("a", "10.9.0.7") == A("10.9.0.7")
    assert pool.allocate("a", "10.9.0.7") == A("10.9.0.7")  # replay after a restart
    with pytest.raises(AddressInUse, match=r"Address already in use: 10\.9\.0\.7"):
        pool.allocate("b", "10.9.0.7")
    with pytest.raises(AddressInUse):
        pool.allocate("b", "10.9.0.1")  # the gateway
    with pytest.raises(NetworkInvalid, match="no configured subnet or ip-range contain"):
        pool.allocate("b", "10.8.0.7")
    with pytest.raises(NetworkInvalid, match="no configured subnet"):
        pool.allocate("b", "10.9.0.255")
    with pytest.raises(NetworkInvalid, match="not an IPv4 address"):
        pool.allocate("b", "bogus")
    # Dynamic allocation steps over the static one.
    assert [pool.allocate(f"d{i}") for i in range(6)][-1] == A("10.9.0.8")


def test_static_needs_user_configured_subnet() -> None:
    pool = plan_pool(None, [])
    with pytest.raises(NetworkInvalid, match="user configured subnets"):
        pool.allocate("a", "172.17.0.9")
    dynamic = pool.allocate("a")
    assert pool.allocate("a", dynamic) == dynamic  # replaying one's own dynamic address is fine


def test_auxiliary_addresses_are_reserved_for_good() -> None:
    pool = plan_pool({"Subnet": "10.9.0.0/29", "AuxiliaryAddresses": {"router": "10.9.0.2"}}, [])
    assert pool.allocate("a") == A("10.9.0.3")
    pool.release("10.9.0.2")
    assert pool.owner_of("10.9.0.2") == "aux:router"


def test_release_owner_and_json_round_trip() -> None:
    pool = plan_pool({"Subnet": "10.9.0.0/24", "IPRange": "10.9.0.128/25", "Gateway": "10.9.0.1"}, [])
    pool.allocate("a")
    pool.allocate("b", "10.9.0.50")
    pool.allocate("a", "10.9.0.51")
    again = Pool.from_json(pool.to_json())
    assert again == pool
    assert sorted(again.release_owner("a")) == [A("10.9.0.51"), A("10.9.0.128")]
    assert again.allocated == {"10.9.0.50": "b"}
    assert again.allocate("c") == A("10.9.0.129")  # `last` survived the round trip
