"""/etc/hosts, /etc/resolv.conf and /etc/hostname contents."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.network.errors import NetworkInvalid
from runtime.network.files import (
    ResolvConf,
    dns_upstreams,
    hostname_file,
    hosts_file,
    parse_extra_host,
    parse_resolv_conf,
    read_host_resolv_conf,
    resolv_conf,
)

HOST = """# generated
nameserver 127.0.0.53
nameserver 10.255.255.53
nameserver fd00::1
search corp.example lab.example ; trailing comment
options edns0 trust-ad
"""


def test_hostname() -> None:
    assert hostname_file("abc123") == "abc123\n"


def test_hosts_file() -> None:
    text = hosts_file("web", ["172.18.0.2", "172.19.0.5"], domainname="example.org",
                      extra_hosts=["db:10.0.0.9", "cache=10.0.0.10", "host.docker.internal:host-gateway",
                                   "v6:::1", "v6b=[fe80::1]"],
                      host_gateway="172.18.0.1")
    lines = text.splitlines()
    assert lines[0] == "127.0.0.1\tlocalhost"
    assert lines[1] == "::1\tlocalhost ip6-localhost ip6-loopback"
    assert lines[6:] == [
        "10.0.0.9\tdb",
        "10.0.0.10\tcache",
        "172.18.0.1\thost.docker.internal",
        "::1\tv6",
        "fe80::1\tv6b",
        "172.18.0.2\tweb.example.org web",
        "172.19.0.5\tweb.example.org web",
    ]
    assert text.endswith("\n")
    assert hosts_file("solo", []).splitlines()[-1] == "ff02::2\tip6-allrouters"


@pytest.mark.parametrize("entry", ["nocolon", ":1.2.3.4", "x:", "x:not-an-ip", "gw:host-gateway"])
def test_bad_extra_hosts(entry: str) -> None:
    with pytest.raises(NetworkInvalid, match="invalid extra host"):
        parse_extra_host(entry)


def test_parse_resolv_conf() -> None:
    conf = parse_resolv_conf(HOST + "domain last.example\nsortlist 10.0.0.0\n")
    assert conf.nameservers == ("127.0.0.53", "10.255.255.53", "fd00::1")
    assert conf.search == ("last.example",)
    assert conf.options == ("edns0", "trust-ad")
    assert conf.other == ("sortlist 10.0.0.0",)


def test_resolv_conf_embedded_dns() -> None:
    host = parse_resolv_conf(HOST)
    text = resolv_conf(host, dns_address="172.18.0.1", dns=["9.9.9.9"])
    assert text == "nameserver 172.18.0.1\nsearch corp.example lab.example\noptions ndots:0 edns0 trust-ad\n"
    text = resolv_conf(host, dns_address="172.18.0.1", dns_search=["svc.local"], dns_options=["ndots:3"])
    assert text == "nameserver 172.18.0.1\nsearch svc.local\noptions ndots:3\n"
    assert "search" not in resolv_conf(host, dns_address="172.18.0.1", dns_search=["."])


def test_resolv_conf_default_bridge() -> None:
    host = parse_resolv_conf(HOST)
    # Loopback and IPv6 servers are unreachable from the container.
    assert resolv_conf(host, dns_address=None).splitlines()[0] == "nameserver 10.255.255.53"
    assert resolv_conf(host, dns_address=None, dns=["1.1.1.1", "1.0.0.1"]).splitlines()[:2] == [
        "nameserver 1.1.1.1", "nameserver 1.0.0.1"]
    only_local = ResolvConf(nameservers=("127.0.0.53",))
    assert resolv_conf(only_local, dns_address=None) == "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"


def test_dns_upstreams() -> None:
    host = parse_resolv_conf(HOST)
    assert dns_upstreams(host) == ["127.0.0.53", "10.255.255.53"]
    assert dns_upstreams(host, ["9.9.9.9"]) == ["9.9.9.9"]


def test_read_host_resolv_conf(tmp_path: Path) -> None:
    path = tmp_path / "resolv.conf"
    path.write_text("nameserver 192.0.2.53\noptions rotate\n")
    assert read_host_resolv_conf(path) == ResolvConf(("192.0.2.53",), (), ("rotate",))
    assert read_host_resolv_conf(tmp_path / "absent") == ResolvConf()
