"""parse_port(): the short port syntax, as docker/go-connections parses it for compose."""

from __future__ import annotations

import pytest

from compose.loader.ports import parse_port


def test_container_only() -> None:
    assert parse_port("80") == [{"mode": "ingress", "target": 80, "protocol": "tcp"}]


def test_host_ip_and_protocol() -> None:
    assert parse_port("0.0.0.0:53:53/UDP") == [
        {"mode": "ingress", "host_ip": "0.0.0.0", "target": 53, "published": "53", "protocol": "udp"}]
    assert parse_port("[::1]:80:80")[0]["host_ip"] == "::1"
    assert parse_port("::1:80:80")[0]["host_ip"] == "::1"


def test_host_port_empty_means_ephemeral() -> None:
    assert parse_port("127.0.0.1::80") == [{"mode": "ingress", "host_ip": "127.0.0.1", "target": 80,
                                             "protocol": "tcp"}]


def test_ranges() -> None:
    assert [(p["target"], p.get("published")) for p in parse_port("8000-8002:9000-9002")] == [
        (9000, "8000"), (9001, "8001"), (9002, "8002")]
    assert parse_port("8000-8010:80")[0]["published"] == "8000-8010"


def test_entries_sorted_as_strings_like_compose() -> None:
    assert [p["target"] for p in parse_port("9-10")] == [10, 9]


@pytest.mark.parametrize(("spec", "message"), [
    ("", "no port specified"),
    ("80/icmp", "invalid proto: icmp"),
    ("x", "invalid containerPort: x"),
    ("abc:80", "invalid hostPort: abc"),
    ("65536", "invalid containerPort"),
    ("1-2:3-5", "invalid ranges"),
    ("300.1.1.1:80:80", "invalid IP address"),
])
def test_errors(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_port(spec)
