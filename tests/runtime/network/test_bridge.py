"""Bridges and veths on the real kernel: netns made here, traffic only between them."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Any

import pytest

from runtime.network.bridge import (
    BridgeOptions,
    EndpointConfig,
    Links,
    bridge_name,
    mac_address,
    parse_driver_opts,
    read_host_routes,
    veth_name,
)
from runtime.network.errors import KernelFailure, NetworkInvalid
from tests.runtime.network.kernel import Netns, free_subnets


def test_names_fit_the_kernel() -> None:
    assert bridge_name("pyc3f9a", 12) == "pyc3f9abr12"
    assert veth_name("pyc3f9a", "0123456789abcdef") == "pyc3f9av0123456"
    assert len(veth_name("pyc3f9a", "0123456789abcdef")) == 15
    with pytest.raises(NetworkInvalid):
        bridge_name("pyc3f9a0123", 12345)


def test_driver_opts() -> None:
    assert parse_driver_opts({}) == BridgeOptions()
    opts = parse_driver_opts({
        "com.docker.network.bridge.name": "mybr0",
        "com.docker.network.driver.mtu": "1400",
        "com.docker.network.bridge.enable_ip_masquerade": "false",
        "com.docker.network.bridge.enable_icc": "0",
        "com.docker.network.bridge.host_binding_ipv4": "127.0.0.1",
        "com.example.other": "ignored",
    })
    assert opts == BridgeOptions("mybr0", 1400, masquerade=False, icc=False, host_binding_ipv4="127.0.0.1")
    for bad in ({"com.docker.network.driver.mtu": "big"}, {"com.docker.network.bridge.name": "x" * 16},
                {"com.docker.network.bridge.enable_icc": "maybe"},
                {"com.docker.network.bridge.host_binding_ipv4": "localhost"}):
        with pytest.raises(NetworkInvalid):
            parse_driver_opts(bad)


def test_mac_like_docker() -> None:
    assert mac_address(IPv4Address("172.17.0.2")) == "02:42:ac:11:00:02"


def _ip_json(*args: str, ns: Netns | None = None) -> list[dict[str, Any]]:
    cmd = ["ip", "-j", *args]
    if ns is not None:
        cmd = ["ip", "netns", "exec", ns.name, *cmd]
    return list(json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout))


@pytest.mark.root
@pytest.mark.timeout(60)
def test_bridge_two_endpoints_ping(prefix: str, links: Links, make_netns: Callable[[], Netns]) -> None:
    (subnet,) = free_subnets(1)
    hosts = list(subnet.hosts())
    gw = IPv4Interface(f"{hosts[0]}/24")
    br = bridge_name(prefix, 0)
    links.ensure_bridge(br, gw, mtu=1450)
    links.ensure_bridge(br, gw, mtu=1450)  # again, as after an engine restart: no second address
    (link,) = _ip_json("addr", "show", "dev", br)
    assert [(a["local"], a["prefixlen"]) for a in link["addr_info"] if a["family"] == "inet"] == [(str(gw.ip), 24)]
    assert link["mtu"] == 1450 and link["address"] == mac_address(gw.ip)
    assert Path(f"/proc/sys/net/ipv4/conf/{br}/route_localnet").read_text().strip() == "1"
    assert subnet in read_host_routes() and subnet not in read_host_routes(ignore_prefix=prefix)

    a, b = make_netns(), make_netns()
    ep_a = links.attach(EndpointConfig(br, veth_name(prefix, "aaaa11"), a.path, IPv4Interface(f"{hosts[1]}/24"),
                                       gateway=gw.ip, mtu=1450))
    ep_b = links.attach(EndpointConfig(br, veth_name(prefix, "bbbb22"), b.path, IPv4Interface(f"{hosts[2]}/24"),
                                       gateway=None, ifname="eth1", mac="02:42:de:ad:be:ef"))
    assert ep_a.mac == mac_address(hosts[1]) and ep_b.mac == "02:42:de:ad:be:ef"

    (eth0,) = _ip_json("addr", "show", "dev", "eth0", ns=a)
    assert eth0["address"] == ep_a.mac and eth0["mtu"] == 1450 and "UP" in eth0["flags"]
    assert [(x["local"], x["prefixlen"]) for x in eth0["addr_info"] if x["family"] == "inet"] == [(str(hosts[1]), 24)]
    assert _ip_json("route", "show", "default", ns=a)[0]["gateway"] == str(gw.ip)
    assert _ip_json("route", "show", "default", ns=b) == []
    (eth1,) = _ip_json("link", "show", "dev", "eth1", ns=b)
    assert eth1["address"] == "02:42:de:ad:be:ef"
    assert Path(f"/sys/class/net/{ep_a.host_ifname}/brport/hairpin_mode").read_text().strip() == "1"
    assert Path(f"/sys/class/net/{ep_a.host_ifname}/master").resolve().name == br

    assert a.ping(str(hosts[2]))
    assert b.ping(str(hosts[1]))
    assert a.ping(str(gw.ip))
    assert a.ping("127.0.0.1")  # lo is up

    assert links.detach(ep_b.host_ifname)
    assert not links.detach(ep_b.host_ifname)
    assert _ip_json("link", "show", ns=b)[0]["ifname"] == "lo" and len(_ip_json("link", "show", ns=b)) == 1
    assert not a.ping(str(hosts[2]))


@pytest.mark.root
def test_attach_failure_leaves_no_host_end(prefix: str, links: Links, make_netns: Callable[[], Netns]) -> None:
    (subnet,) = free_subnets(1)
    hosts = list(subnet.hosts())
    br = bridge_name(prefix, 0)
    links.ensure_bridge(br, IPv4Interface(f"{hosts[0]}/24"))
    ns = make_netns()
    first = EndpointConfig(br, veth_name(prefix, "one"), ns.path, IPv4Interface(f"{hosts[1]}/24"))
    links.attach(first)
    clash = EndpointConfig(br, veth_name(prefix, "two"), ns.path, IPv4Interface(f"{hosts[2]}/24"))
    with pytest.raises(KernelFailure, match="File exists"):
        links.attach(clash)  # eth0 exists in that netns already
    assert veth_name(prefix, "two") not in links.links(prefix)
    with pytest.raises(KernelFailure, match="no bridge"):
        links.attach(EndpointConfig(prefix + "br9", veth_name(prefix, "three"), ns.path, first.address))
    with pytest.raises(KernelFailure, match="netns"):
        links.attach(EndpointConfig(br, veth_name(prefix, "four"), "/run/netns/pyct-absent", first.address))


@pytest.mark.root
def test_remove_stale_keeps_what_is_asked(prefix: str, links: Links, make_netns: Callable[[], Netns]) -> None:
    s1, s2 = free_subnets(2)
    br0, br1 = bridge_name(prefix, 0), bridge_name(prefix, 1)
    links.ensure_bridge(br0, IPv4Interface(f"{next(s1.hosts())}/24"))
    links.ensure_bridge(br1, IPv4Interface(f"{next(s2.hosts())}/24"))
    ns = make_netns()
    veth = veth_name(prefix, "cafe")
    links.attach(EndpointConfig(br1, veth, ns.path, IPv4Interface(f"{list(s2.hosts())[1]}/24")))
    assert links.links(prefix) == sorted([br0, br1, veth])
    assert links.remove_stale(prefix, keep=[br0]) == [veth, br1]
    assert links.links(prefix) == [br0]
    assert links.remove_link(br0) and not links.remove_link(br0)
