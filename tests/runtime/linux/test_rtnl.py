from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Interface

import pytest

from runtime.linux.rtnl import Rtnl, attr
from runtime.network.bridge import _setns as setns_net
from tests.runtime.network.kernel import Netns, random_prefix

pytestmark = pytest.mark.root


def test_attributes_are_padded_to_four_bytes() -> None:
    assert attr(3, b"eth0\0") == b"\x09\x00\x03\x00eth0\x00\x00\x00\x00"
    assert len(attr(1, b"\x01\x02\x03\x04\x05\x06")) == 12


@pytest.fixture
def netns() -> Iterator[Netns]:
    ns = Netns()
    try:
        yield ns
    finally:
        ns.close()


def _ip(*args: str) -> str:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=True).stdout


@pytest.mark.timeout(30)
def test_veth_into_a_netns_with_address_and_route(netns: Netns) -> None:
    prefix = random_prefix()
    bridge, veth = prefix + "br0", prefix + "v0"
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
    fd = os.open(netns.path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        with Rtnl() as rt:
            master = rt.index(bridge)
            assert master is not None and rt.index(prefix + "none") is None
            rt.add_veth(veth, master, "eth0", fd, "02:42:0a:0b:0c:0d", mtu=1400)
            with pytest.raises(OSError) as exists:
                rt.add_veth(veth, master, "eth1", fd, "02:42:0a:0b:0c:0e")
            assert exists.value.errno == errno.EEXIST
        host = _ip("-d", "link", "show", veth)
        assert f"master {bridge}" in host and "mtu 1400" in host and ",UP" in host
        # The container's end, configured from inside its netns (as bridge.py does it).
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            setns_net(fd)
            inner = Rtnl()
        finally:
            setns_net(own)
            os.close(own)
        with inner:
            inner.set_up(1)
            index = inner.index("eth0")
            assert index is not None
            inner.add_address(index, IPv4Interface("10.231.7.2/24"))
            inner.set_up(index)
            inner.add_default_route(IPv4Address("10.231.7.1"), index)
        shown = netns.run("ip", "addr", "show", "eth0", check=True).stdout
        assert "inet 10.231.7.2/24 brd 10.231.7.255" in shown and "02:42:0a:0b:0c:0d" in shown
        assert "default via 10.231.7.1 dev eth0" in netns.run("ip", "route", check=True).stdout
        assert "UP" in netns.run("ip", "link", "show", "lo", check=True).stdout
        with Rtnl() as rt:
            assert rt.delete(veth) is True
            assert rt.delete(veth) is False
    finally:
        os.close(fd)
        subprocess.run(["ip", "link", "del", bridge], check=False, capture_output=True)
