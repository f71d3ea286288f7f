"""nftables on the real kernel: isolation, internal networks, masquerade, published ports (TCP, UDP, hairpin).

Traffic goes only to loopback, to the host's own address (DNATed into a netns
made here) and between those netns.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

import pytest

from runtime.network import nat
from runtime.network.bridge import EndpointConfig, Links, bridge_name, veth_name
from runtime.network.errors import PortAllocated
from runtime.network.nat import NatTable, NetworkRules, PortRule
from runtime.network.ports import PortReservations, PortSpec
from tests.runtime.network.kernel import BUSYBOX, Netns, free_subnets, host_address

pytestmark = [pytest.mark.root, pytest.mark.timeout(90)]

UDP_ECHO = (
    "import socket\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.bind(('0.0.0.0', 9000))\n"
    "print('ready', flush=True)\n"
    "while True:\n"
    "    data, peer = s.recvfrom(512)\n"
    "    s.sendto(data.upper(), peer)\n"
)


@dataclass
class Net:
    bridge: str
    subnet: IPv4Network
    gateway: IPv4Interface
    rules: NetworkRules
    hosts: list[IPv4Address]


def _network(links: Links, prefix: str, index: int, subnet: IPv4Network, internal: bool = False,
             icc: bool = True) -> Net:
    hosts = list(subnet.hosts())
    gw = IPv4Interface(f"{hosts[0]}/{subnet.prefixlen}")
    br = bridge_name(prefix, index)
    links.ensure_bridge(br, gw)
    return Net(br, subnet, gw, NetworkRules(br, subnet, internal, dns_address=gw.ip, icc=icc), hosts[1:])


def _join(links: Links, prefix: str, net: Net, ns: Netns, n: int) -> IPv4Address:
    address = net.hosts[n]
    gateway = None if net.rules.internal else net.gateway.ip
    links.attach(EndpointConfig(net.bridge, veth_name(prefix, f"{net.bridge[-1]}{n}{ns.name[-4:]}"), ns.path,
                                IPv4Interface(f"{address}/{net.subnet.prefixlen}"), gateway=gateway))
    return address


def _curl(url: str) -> str | None:
    done = subprocess.run(["curl", "-s", "--noproxy", "*", "--max-time", "3", url], capture_output=True, text=True,
                          timeout=10)
    return done.stdout if done.returncode == 0 else None


def _wait(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def _udp_ask(host: str, port: int, payload: bytes) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1.0)
        for _ in range(3):
            s.sendto(payload, (host, port))
            try:
                return s.recv(512)
            except TimeoutError:
                continue
    return None


@pytest.mark.usefixtures("ip_forward", "nft_cleanup")
def test_isolation_between_bridges_and_internal(prefix: str, links: Links,
                                                make_netns: Callable[[], Netns]) -> None:
    s0, s1, s2, s3 = free_subnets(4)
    n0, n1 = _network(links, prefix, 0, s0), _network(links, prefix, 1, s1)
    n2 = _network(links, prefix, 2, s2, internal=True)
    n3 = _network(links, prefix, 3, s3, icc=False)
    a, b, c, d = make_netns(), make_netns(), make_netns(), make_netns()
    ip_a, ip_b = _join(links, prefix, n0, a, 0), _join(links, prefix, n1, b, 0)
    ip_c, ip_c2 = _join(links, prefix, n2, c, 0), _join(links, prefix, n2, make_netns(), 1)
    _, ip_d2 = _join(links, prefix, n3, d, 0), _join(links, prefix, n3, make_netns(), 1)
    c.run("ip", "route", "add", "default", "via", str(n2.gateway.ip), check=True)  # try to get out anyway

    # Without our rules the host routes between the bridges.
    assert a.ping(str(ip_b)) and b.ping(str(ip_a)) and a.ping(str(ip_c)) and d.ping(str(ip_d2))

    table = NatTable(prefix)
    table.ensure()
    for net in (n0, n1, n2, n3):
        table.add_network(net.rules)
    assert not d.ping(str(ip_d2)) and d.ping(str(n3.gateway.ip))  # enable_icc=false
    assert not a.ping(str(ip_b)) and not b.ping(str(ip_a))
    assert not c.ping(str(ip_a)) and not a.ping(str(ip_c))
    # Within a bridge, and to the host (gateway: DNS lives there), all is fine, internal or not.
    assert c.ping(str(ip_c2)) and c.ping(str(n2.gateway.ip)) and a.ping(str(n0.gateway.ip))

    table.remove_network(n1.rules)
    table.remove_network(n1.rules)  # idempotent
    assert a.ping(str(ip_b))
    table.add_network(n1.rules)
    table.add_network(n1.rules)  # idempotent too: no duplicate rules
    assert table.listing().count(f'oifname "{n1.bridge}" return') == 1
    assert not a.ping(str(ip_b))


@pytest.mark.usefixtures("nft_cleanup")
def test_masquerade_for_non_internal_subnets(prefix: str) -> None:
    table = NatTable(prefix)
    table.ensure()
    s0, s1 = free_subnets(2)
    table.add_network(NetworkRules(prefix + "br0", s0))
    s2, s3 = free_subnets(2)
    table.add_network(NetworkRules(prefix + "br1", s1, internal=True))
    table.add_network(NetworkRules(prefix + "br2", s2, masquerade=False))
    table.add_network(NetworkRules(prefix + "br3", s3))
    listing = table.listing()
    masq = listing.split("set masq_subnets", 1)[1].split("}", 1)[0]
    assert str(s0) in masq and str(s3) in masq and str(s1) not in masq and str(s2) not in masq
    assert "oifname != @bridges ip saddr @masq_subnets masquerade" in listing
    assert "oifname @bridges ip saddr 127.0.0.0/8 masquerade" in listing
    assert "oifname @bridges ct status dnat ip saddr @subnets masquerade" in listing
    table.remove_network(NetworkRules(prefix + "br3", s3))
    assert str(s3) not in table.listing()
    table.reset()  # engine start: empty table, networks and ports are added again
    assert str(s0) not in table.listing() and "masq_subnets" in table.listing()
    nat.cleanup(prefix)
    assert not table.exists()
    nat.cleanup(prefix)  # nothing left: still fine


@pytest.mark.usefixtures("ip_forward", "nft_cleanup")
def test_published_ports_tcp_udp_hairpin(prefix: str, links: Links, make_netns: Callable[[], Netns],
                                         tmp_path: Path) -> None:
    (s0,) = free_subnets(1)
    net = _network(links, prefix, 0, s0)
    server, neighbour = make_netns(), make_netns()
    ip_server, _ = _join(links, prefix, net, server, 0), _join(links, prefix, net, neighbour, 1)
    table = NatTable(prefix)
    table.ensure()
    table.add_network(net.rules)

    (tmp_path / "hello").write_text("hello from the netns\n")
    server.spawn(BUSYBOX, "httpd", "-f", "-p", "80", "-h", str(tmp_path))
    echo = server.spawn(sys.executable, "-I", "-S", "-c", UDP_ECHO)
    assert echo.stdout is not None and echo.stdout.readline().strip() == "ready"
    assert _wait(lambda: server.run(BUSYBOX, "wget", "-q", "-O", "-", "http://127.0.0.1/hello").returncode == 0)

    host_ip = host_address()
    ports = PortReservations()
    try:
        any_tcp = ports.reserve("c1", PortSpec(80))
        local_tcp = ports.reserve("c1", PortSpec(80, host_ip="127.0.0.1"))
        any_udp = ports.reserve("c1", PortSpec(9000, "udp"))
        for p in (any_tcp, local_tcp, any_udp):
            table.add_port(PortRule(p.protocol, p.host_ip, p.host_port, ip_server, p.container_port))

        expected = "hello from the netns\n"
        assert _curl(f"http://127.0.0.1:{any_tcp.host_port}/hello") == expected
        assert _curl(f"http://{host_ip}:{any_tcp.host_port}/hello") == expected
        assert _curl(f"http://127.0.0.1:{local_tcp.host_port}/hello") == expected
        assert _curl(f"http://{host_ip}:{local_tcp.host_port}/hello") is None  # published on 127.0.0.1 only
        assert _udp_ask("127.0.0.1", any_udp.host_port, b"ping") == b"PING"
        assert _udp_ask(host_ip, any_udp.host_port, b"ping") == b"PING"

        # Hairpin: the container itself and its neighbour, through the host's address and the gateway.
        for ns in (server, neighbour):
            for address in (host_ip, str(net.gateway.ip)):
                url = f"http://{address}:{any_tcp.host_port}/hello"
                got = ns.run(BUSYBOX, "wget", "-q", "-O", "-", url)  # (Debian's busybox wget -T segfaults)
                assert got.stdout == expected, (ns.name, url, got.returncode, got.stderr)

        with pytest.raises(PortAllocated, match=f"0.0.0.0:{any_tcp.host_port} failed"):
            table.add_port(PortRule("tcp", "", any_tcp.host_port, net.hosts[5], 81))

        for p in ports.release("c1"):
            table.remove_port(PortRule(p.protocol, p.host_ip, p.host_port, ip_server, p.container_port))
        assert _curl(f"http://127.0.0.1:{any_tcp.host_port}/hello") is None
        assert "pub_any" in table.listing() and str(ip_server) not in table.listing()
    finally:
        ports.close()
