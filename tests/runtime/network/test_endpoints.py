"""A container's endpoints decided at create/connect, published ports and their JSON, links."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.network.endpoints import (
    ModeConflict,
    Peer,
    check_mac,
    endpoint_settings,
    interface_names,
    parse_links,
    plan_create,
    port_specs,
    ports_json,
    ports_summary,
    published_from_json,
)
from runtime.network.errors import NetworkInvalid
from runtime.network.ipam import plan_pool
from runtime.network.ports import PortSpec, Published
from runtime.network.store import NetworkRecord, NoSuchNetwork

CID = "c0ffee" + "0" * 58


def _networks() -> dict[str, NetworkRecord]:
    default = NetworkRecord("1" * 64, "bridge", "bridge", "t", bridge="pyc0000br0", default=True)
    default.set_pool(plan_pool(None, []))
    front = NetworkRecord("2" * 64, "front", "bridge", "t", bridge="pyc0000br1")
    front.set_pool(plan_pool({"Subnet": "10.9.0.0/24"}, []))
    back = NetworkRecord("3" * 64, "back", "bridge", "t", bridge="pyc0000br2", internal=True)
    back.set_pool(plan_pool(None, [default.get_pool().subnet]))
    host = NetworkRecord("4" * 64, "host", "host", "t")
    none = NetworkRecord("5" * 64, "none", "null", "t")
    return {n.name: n for n in (default, front, back, host, none)}


def _plan(body: dict[str, Any]) -> Any:
    nets = _networks()

    def find(ref: str) -> NetworkRecord:
        if ref not in nets:
            raise NoSuchNetwork(ref)
        return nets[ref]

    def peer(ref: str) -> Peer:
        return Peer("9" * 64, "peerhost", "")

    return plan_create(body, name="web", container_id=CID, find_network=find, default=nets["bridge"],
                       find_peer=peer)


def test_default_bridge_from_docker_cli_body() -> None:
    plan = _plan({"HostConfig": {"NetworkMode": "default"}, "NetworkingConfig": {"EndpointsConfig": {"default": {}}}})
    assert plan.kind == "bridge" and list(plan.settings["Networks"]) == ["bridge"]
    endpoint = plan.settings["Networks"]["bridge"]
    assert endpoint["NetworkID"] == "1" * 64 and endpoint["DNSNames"] is None
    assert endpoint["MacAddress"].startswith("02:42:")
    assert plan.dns_address is None and plan.host_gateway == "172.17.0.1"


def test_user_networks_primary_first_with_aliases_and_static_ip() -> None:
    body = {"HostConfig": {"NetworkMode": "front"}, "MacAddress": "02:42:00:00:00:07",
            "NetworkingConfig": {"EndpointsConfig": {
                "back": {"Aliases": ["db"]},
                "front": {"Aliases": ["web", "www"], "IPAMConfig": {"IPv4Address": "10.9.0.9"}}}}}
    plan = _plan(body)
    assert list(plan.settings["Networks"]) == ["front", "back"]
    front = plan.settings["Networks"]["front"]
    assert front["IPAMConfig"] == {"IPv4Address": "10.9.0.9"} and front["MacAddress"] == "02:42:00:00:00:07"
    assert front["DNSNames"] == ["web", "www", CID[:12]]
    assert plan.settings["Networks"]["back"]["Aliases"] == ["db"]
    assert plan.dns_address == "10.9.0.1" and plan.networks == ("2" * 64, "3" * 64)


@pytest.mark.parametrize(("body", "error"), [
    ({"HostConfig": {"NetworkMode": "nope"}}, NoSuchNetwork),
    ({"HostConfig": {"NetworkMode": "bridge"}, "NetworkingConfig": {"EndpointsConfig": {"bridge": {"Aliases": ["x"]}}}},
     NetworkInvalid),
    ({"HostConfig": {"NetworkMode": "bridge"},
      "NetworkingConfig": {"EndpointsConfig": {"bridge": {"IPAMConfig": {"IPv4Address": "172.17.0.9"}}}}},
     NetworkInvalid),
    ({"HostConfig": {"NetworkMode": "front"},
      "NetworkingConfig": {"EndpointsConfig": {"front": {"IPAMConfig": {"IPv4Address": "10.8.0.9"}}}}},
     NetworkInvalid),
    ({"HostConfig": {"NetworkMode": "host"}, "NetworkingConfig": {"EndpointsConfig": {"front": {}}}}, ModeConflict),
    ({"HostConfig": {"NetworkMode": "container:x", "PortBindings": {"80/tcp": [{}]}}}, ModeConflict),
    ({"Hostname": "h", "HostConfig": {"NetworkMode": "container:x"}}, ModeConflict),
    ({"HostConfig": {"NetworkMode": "front"}, "MacAddress": "01:00:00:00:00:01"}, NetworkInvalid),
])
def test_refused_requests(body: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        _plan(body)


def test_host_none_and_container_modes() -> None:
    assert _plan({"HostConfig": {"NetworkMode": "host"}}).settings["Networks"]["host"]["NetworkID"] == "4" * 64
    none = _plan({"NetworkDisabled": True, "HostConfig": {"NetworkMode": "front"}})
    assert none.kind == "none" and list(none.settings["Networks"]) == ["none"]
    joined = _plan({"HostConfig": {"NetworkMode": "container:peer"}})
    assert joined.kind == "container" and joined.peer == Peer("9" * 64, "peerhost", "")
    assert joined.settings["Networks"] == {}


def test_endpoint_keeps_a_given_mac_and_makes_a_stable_one() -> None:
    nets = _networks()
    given = endpoint_settings(nets["front"], {"MacAddress": "02-42-AA-BB-CC-DD"}, name="x", container_id=CID)
    assert given["MacAddress"] == "02:42:aa:bb:cc:dd"
    made = endpoint_settings(nets["front"], None, name="x", container_id=CID)
    assert check_mac(made["MacAddress"]) == made["MacAddress"]


def test_interface_names() -> None:
    opts = {"DriverOpts": {"com.docker.network.endpoint.ifname": "eth1"}}
    assert interface_names([{}, {}, {}]) == ["eth0", "eth1", "eth2"]
    assert interface_names([{}, opts, {}]) == ["eth0", "eth1", "eth2"]
    assert interface_names([opts, {}]) == ["eth1", "eth0"]
    assert interface_names([{}], {"eth0", "eth1"}) == ["eth2"]


def test_port_specs_bindings_and_publish_all() -> None:
    config: dict[str, Any] = {"ExposedPorts": {"80/tcp": {}, "53/udp": {}, "8080": {}}}
    hc = {"PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8000"}]}, "PublishAllPorts": True}
    specs = port_specs(config, hc)
    assert PortSpec(80, "tcp", "", 8000) in specs
    assert PortSpec(53, "udp") in specs and PortSpec(8080, "tcp") in specs and len(specs) == 3
    assert port_specs({}, {"PortBindings": {"80/tcp": None}}, "127.0.0.1") == [PortSpec(80, "tcp", "127.0.0.1")]


def test_ports_json_summary_and_back() -> None:
    published = [Published("tcp", "", 32768, 80), Published("tcp", "127.0.0.1", 8081, 81)]
    ports = ports_json(["80/tcp", "81/tcp", "443/tcp"], published)
    assert ports == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "32768"}],
                     "81/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8081"}], "443/tcp": None}
    assert ports_summary(ports) == [
        {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 32768, "Type": "tcp"},
        {"IP": "127.0.0.1", "PrivatePort": 81, "PublicPort": 8081, "Type": "tcp"},
        {"PrivatePort": 443, "Type": "tcp"},
    ]
    assert published_from_json(ports) == published


def test_links() -> None:
    assert parse_links(["db:database", "/cache:/web/c", "plain"]) == [
        ("db", "database"), ("cache", "c"), ("plain", "plain")]
    with pytest.raises(NetworkInvalid):
        parse_links([":x"])
