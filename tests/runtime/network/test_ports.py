"""Published ports: spec parsing, PortBindings, and host port reservations (loopback only)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.network.errors import NetworkInvalid, PortAllocated
from runtime.network.ports import PortReservations, PortSpec, Published, from_port_bindings, parse_port_spec

LOCAL_RANGE = tuple(int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())


@pytest.mark.parametrize(("text", "specs"), [
    ("80", [PortSpec(80)]),
    ("3000-3002", [PortSpec(3000), PortSpec(3001), PortSpec(3002)]),
    ("8080:80", [PortSpec(80, host_port=8080)]),
    ("9090-9091:8080-8081", [PortSpec(8080, host_port=9090), PortSpec(8081, host_port=9091)]),
    ("12400-12500:1240", [PortSpec(1240, host_port=12400, host_port_end=12500)]),
    ("127.0.0.1:8001:8001", [PortSpec(8001, host_ip="127.0.0.1", host_port=8001)]),
    ("127.0.0.1::5000", [PortSpec(5000, host_ip="127.0.0.1")]),
    ("0.0.0.0:53:53/udp", [PortSpec(53, "udp", host_port=53)]),
    ("6060:6060/udp", [PortSpec(6060, "udp", host_port=6060)]),
    ("[::1]:6001:6001", [PortSpec(6001, host_ip="::1", host_port=6001)]),
    ("5000/sctp", [PortSpec(5000, "sctp")]),
])
def test_parse(text: str, specs: list[PortSpec]) -> None:
    assert parse_port_spec(text) == specs


@pytest.mark.parametrize(("text", "message"), [
    ("", "invalid port specification"),
    ("abc", "invalid port specification"),
    ("80/icmp", "invalid proto"),
    ("8000-8001:80-82", "invalid ranges"),
    ("70000:80", "invalid port range"),
    ("90-80", "invalid port range"),
    ("999.1.1.1:80:80", "invalid IP address"),
])
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(NetworkInvalid, match=message):
        parse_port_spec(text)


def test_from_port_bindings() -> None:
    specs = from_port_bindings({
        "80/tcp": [{"HostIp": "", "HostPort": "8080"}, {"HostIp": "127.0.0.1", "HostPort": ""}],
        "53/udp": [{"HostPort": "5300-5310"}],
        "9000": None,
        "7000-7001/tcp": [{"HostPort": "17000-17001"}],
    })
    assert specs == [
        PortSpec(80, host_port=8080), PortSpec(80, host_ip="127.0.0.1"),
        PortSpec(53, "udp", host_port=5300, host_port_end=5310),
        PortSpec(9000),
        PortSpec(7000, host_port=17000), PortSpec(7001, host_port=17001),
    ]
    with pytest.raises(NetworkInvalid, match="invalid ranges"):
        from_port_bindings({"7000-7001/tcp": [{"HostPort": "17000-17005"}]})


@pytest.fixture
def table() -> Iterator[PortReservations]:
    t = PortReservations()
    yield t
    t.close()


def _free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_ephemeral_ports_come_from_the_local_range(table: PortReservations) -> None:
    a = table.reserve("c1", PortSpec(80, host_ip="127.0.0.1"))
    b = table.reserve("c1", PortSpec(81, "udp"))
    assert LOCAL_RANGE[0] <= a.host_port <= LOCAL_RANGE[1]
    assert (a.protocol, a.host_ip, a.container_port, a.key) == ("tcp", "127.0.0.1", 80, "80/tcp")
    assert b.protocol == "udp" and b.host_ip == ""
    assert table.owner("tcp", "127.0.0.1", a.host_port) == "c1"


def test_a_held_port_is_allocated(table: PortReservations) -> None:
    port = _free_port()
    table.reserve("c1", PortSpec(80, host_ip="127.0.0.1", host_port=port))
    with pytest.raises(PortAllocated, match=f"Bind for 127.0.0.1:{port} failed: port is already allocated"):
        table.reserve("c2", PortSpec(80, host_ip="127.0.0.1", host_port=port))
    # Every address collides with one address.
    with pytest.raises(PortAllocated, match=f"Bind for 0.0.0.0:{port} failed"):
        table.reserve("c2", PortSpec(80, host_port=port))
    # Another protocol is another port.
    assert table.reserve("c2", PortSpec(80, "udp", host_port=port)).host_port == port
    # The holder asking again (restart replay) gets it back.
    assert table.reserve("c1", PortSpec(80, host_ip="127.0.0.1", host_port=port)).host_port == port


def test_a_port_another_program_listens_on_is_allocated(table: PortReservations) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(PortAllocated, match="port is already allocated"):
            table.reserve("c1", PortSpec(80, host_ip="127.0.0.1", host_port=port))


def test_reservation_keeps_others_off_and_release_frees(table: PortReservations) -> None:
    port = _free_port()
    table.reserve("c1", PortSpec(80, host_ip="127.0.0.1", host_port=port))
    with socket.socket() as other, pytest.raises(OSError):
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind(("127.0.0.1", port))
    assert table.release("c1") == [Published("tcp", "127.0.0.1", port, 80)]
    assert table.owner("tcp", "127.0.0.1", port) is None
    with socket.socket() as other:
        other.bind(("127.0.0.1", port))


def test_range_takes_the_first_free_port(table: PortReservations) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        got = table.reserve("c1", PortSpec(53, "udp", host_ip="127.0.0.1", host_port=port, host_port_end=port + 5))
        assert port < got.host_port <= port + 5
        with pytest.raises(PortAllocated, match=f"127.0.0.1:{port} failed"):
            table.reserve("c2", PortSpec(53, "udp", host_ip="127.0.0.1", host_port=port))
        spec = PortSpec(53, "udp", host_ip="127.0.0.1", host_port=port, host_port_end=got.host_port)
        with pytest.raises(PortAllocated, match=f"127.0.0.1:{port}-{got.host_port} failed"):
            table.reserve("c2", spec)


def test_ipv6_bindings_and_foreign_addresses(table: PortReservations) -> None:
    port = _free_port()
    v6 = table.reserve("c1", PortSpec(80, host_ip="::", host_port=port))
    assert v6.host_ip == "::"
    v4 = table.reserve("c2", PortSpec(80, host_port=port))  # 0.0.0.0 and :: are distinct bindings
    assert v4.host_ip == ""
    with pytest.raises(PortAllocated):
        table.reserve("c3", PortSpec(80, host_ip="::1", host_port=port))  # :: holds every IPv6 address
    with pytest.raises(NetworkInvalid, match="not an address of this host"):
        table.reserve("c1", PortSpec(80, host_ip="192.0.2.254", host_port=_free_port()))
