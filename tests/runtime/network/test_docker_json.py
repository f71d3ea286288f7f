"""Docker's network JSON: create requests checked, the Network object, list filters, prune."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.network.docker_json import (
    Forbidden,
    PluginNotFound,
    check_filters,
    matches,
    network_container,
    network_json,
    parse_create,
    prunable,
)
from runtime.network.errors import NetworkConflict, NetworkInvalid
from runtime.network.ipam import plan_pool
from runtime.network.store import NetworkRecord


def _network(name: str = "front", **kw: Any) -> NetworkRecord:
    record = NetworkRecord("f" * 64, name, "bridge", "2024-01-01T00:00:00.000000000Z", bridge="pyc0000br1", **kw)
    record.set_pool(plan_pool({"Subnet": "10.9.0.0/24", "IPRange": "10.9.0.128/25",
                               "AuxiliaryAddresses": {"router": "10.9.0.5"}}, []))
    return record


def test_create_request_checks() -> None:
    request = parse_create({"Name": "n1", "Driver": "bridge", "Internal": True, "Labels": {"a": "b"},
                            "Options": {"com.docker.network.driver.mtu": "1400"},
                            "IPAM": {"Driver": "default", "Config": [{"Subnet": "10.1.0.0/24"}]}}, ["other"])
    assert request.name == "n1" and request.internal and request.labels == {"a": "b"}
    assert request.ipam == {"Subnet": "10.1.0.0/24"}
    cases: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({}, NetworkInvalid, "name is required"),
        ({"Name": "host"}, Forbidden, "predefined host network"),
        ({"Name": "other"}, NetworkConflict, "already exists"),
        ({"Name": "x", "Driver": "overlay"}, PluginNotFound, 'plugin "overlay" not found'),
        ({"Name": "x", "Driver": "null"}, Forbidden, "only one instance"),
        ({"Name": "x", "IPAM": {"Config": [{"Subnet": "fd00::/64"}]}}, NetworkInvalid, "IPv6 is not enabled"),
        ({"Name": "x", "EnableIPv6": True, "IPAM": {"Config": [{"Subnet": "fd00::/64"}, {"Subnet": "fd01::/64"}]}},
         NetworkInvalid, "one IPv6 subnet"),
        ({"Name": "x", "IPAM": {"Driver": "dhcp"}}, PluginNotFound, "dhcp"),
        ({"Name": "x", "Options": {"com.docker.network.driver.mtu": "12"}}, NetworkInvalid, "MTU"),
        ({"Name": "x", "IPAM": {"Config": [{"Subnet": "10.1.0.0/24"}, {"Subnet": "10.2.0.0/24"}]}},
         NetworkInvalid, "one IPv4 subnet"),
    ]
    for body, error, text in cases:
        with pytest.raises(error, match=text):
            parse_create(body, ["other"])


def test_network_json_shape() -> None:
    record = _network(labels={"k": "v"}, options={"com.docker.network.driver.mtu": "1400"})
    endpoint = {"EndpointID": "e" * 64, "MacAddress": "02:42:0a:09:00:80", "IPAddress": "10.9.0.128",
                "IPPrefixLen": 24}
    doc = network_json(record, {"c" * 64: network_container("web", endpoint)})
    assert doc["IPAM"] == {"Driver": "default", "Options": None, "Config": [
        {"Subnet": "10.9.0.0/24", "Gateway": "10.9.0.1", "IPRange": "10.9.0.128/25",
         "AuxiliaryAddresses": {"router": "10.9.0.5"}}]}
    assert doc["Containers"]["c" * 64] == {"Name": "web", "EndpointID": "e" * 64, "MacAddress": "02:42:0a:09:00:80",
                                           "IPv4Address": "10.9.0.128/24", "IPv6Address": ""}
    assert doc["Scope"] == "local" and doc["Options"] == {"com.docker.network.driver.mtu": "1400"}
    default = _network("bridge", default=True)
    assert network_json(default)["Options"]["com.docker.network.bridge.name"] == "pyc0000br1"


def test_list_filters() -> None:
    front = _network(labels={"team": "a"})
    host = NetworkRecord("1" * 64, "host", "host", "0001-01-01T00:00:00Z")
    assert matches(front, {"name": ["ron"], "label": ["team=a"], "driver": ["bridge"]}, set())
    assert not matches(front, {"label": ["team=b"]}, set())
    assert matches(front, {"id": ["fff"]}, set()) and not matches(front, {"id": ["abc"]}, set())
    assert matches(front, {"type": ["custom"]}, set()) and matches(host, {"type": ["builtin"]}, set())
    assert matches(front, {"dangling": ["true"]}, set()) and not matches(front, {"dangling": ["true"]}, {front.id})
    assert not matches(host, {"dangling": ["true"]}, set())
    with pytest.raises(NetworkInvalid):
        check_filters({"bogus": ["x"]}, frozenset({"name"}))
    with pytest.raises(NetworkInvalid):
        check_filters({"type": ["odd"]}, frozenset({"type"}))


def test_prunable() -> None:
    front = _network(labels={"keep": "yes"})
    created = 1_700_000_000.0
    assert prunable(front, {}, set(), created)
    assert not prunable(front, {}, {front.id}, created)
    assert not prunable(front, {"label!": ["keep"]}, set(), created)
    assert prunable(front, {"until": ["1h"]}, set(), created, now=created + 7200)
    assert not prunable(front, {"until": ["1h"]}, set(), created, now=created + 60)
    assert not prunable(_network("bridge", default=True), {}, set(), created)
