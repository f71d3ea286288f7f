"""Networks through the docker CLI against a private engine: the predefined ones, create options, endpoints.

Each option is checked where it takes effect: inside the containers (ip,
ping between two containers of the test's network) or in the kernel
(`ip link`, the nftables ruleset). No traffic leaves the test's networks.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.compose.cli.engines import DOCKER, busybox_engine_in_tmp, remove_containers_then
from tests.compose.cli.engines import docker_cli as docker
from tests.compose.cli.engines import docker_out as out
from tests.engine_fixture import EngineHandle

pytestmark = [pytest.mark.root, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def module_engine() -> Iterator[EngineHandle]:
    if DOCKER is None:
        pytest.skip("no docker CLI on PATH")
    with busybox_engine_in_tmp("pyc-netcli-") as handle:
        yield handle


@pytest.fixture
def engine(module_engine: EngineHandle) -> Iterator[EngineHandle]:
    yield module_engine
    remove_containers_then(module_engine, "network", "prune", "--force")


def inspect(handle: EngineHandle, *args: str) -> Any:
    return json.loads(out(handle, *args))


def nft(*args: str) -> str:
    return subprocess.run(["nft", *args], capture_output=True, text=True, check=False).stdout


def link(name: str) -> str:
    return subprocess.run(["ip", "-d", "link", "show", name], capture_output=True, text=True, check=False).stdout


def test_predefined_networks_listed_inspected_not_removable(engine: EngineHandle) -> None:
    rows = [line.split() for line in out(engine, "network", "ls", "--format",
                                         "{{.ID}} {{.Name}} {{.Driver}} {{.Scope}}").splitlines()]
    by_name = {r[1]: r for r in rows}
    assert {n: (r[2], r[3]) for n, r in by_name.items()} == {
        "bridge": ("bridge", "local"), "host": ("host", "local"), "none": ("null", "local")}
    again = {line.split()[1]: line.split()[0] for line in out(engine, "network", "ls", "--format",
                                                              "{{.ID}} {{.Name}}").splitlines()}
    assert again == {n: r[0] for n, r in by_name.items()}  # fixed ids
    for name in ("host", "none", "bridge"):
        result = docker(engine, "network", "rm", name, check=False)
        assert result.returncode != 0
        assert f"{name} is a pre-defined network and cannot be removed" in result.stderr
    (host, none) = inspect(engine, "network", "inspect", "host", "none")
    assert (host["Driver"], host["Scope"], none["Driver"], none["Scope"]) == ("host", "local", "null", "local")
    assert host["Id"].startswith(by_name["host"][0]) and host["IPAM"]["Config"] == []
    out(engine, "run", "-d", "--name", "onhost", "--network", "host", "busybox", "sleep", "60")
    out(engine, "run", "-d", "--name", "onnone", "--network", "none", "busybox", "sleep", "60")
    for container, network in (("onhost", host), ("onnone", none)):
        (c,) = inspect(engine, "inspect", container)
        (name, endpoint), = c["NetworkSettings"]["Networks"].items()
        assert name == network["Name"] and endpoint["NetworkID"] == network["Id"]
        assert len(endpoint["EndpointID"]) == 64
        (shown,) = inspect(engine, "network", "inspect", network["Name"])
        assert [v["Name"] for v in shown["Containers"].values()] == [container]
    assert "eth0" not in out(engine, "exec", "onnone", "ip", "link")


def test_create_options_in_the_kernel(engine: EngineHandle) -> None:
    out(engine, "network", "create", "--attachable", "-o", "com.docker.network.bridge.name=tbr0",
        "-o", "com.docker.network.driver.mtu=1400", "-o", "com.docker.network.bridge.enable_icc=false",
        "-o", "com.docker.network.bridge.enable_ip_masquerade=false",
        "-o", "com.docker.network.bridge.host_binding_ipv4=127.0.0.1", "-o", "vendor.thing=kept",
        "--subnet", "10.231.70.0/24", "opts")
    (net,) = inspect(engine, "network", "inspect", "opts")
    assert net["Attachable"] is True and net["Internal"] is False
    assert net["Options"]["vendor.thing"] == "kept"  # unknown options: stored and shown, as dockerd
    assert net["Options"]["com.docker.network.driver.mtu"] == "1400"
    bridge = net["Options"]["com.docker.network.bridge.name"]
    assert bridge == f"{engine.prefix}tbr0"
    assert "mtu 1400" in link(bridge)
    subnet = net["IPAM"]["Config"][0]["Subnet"]
    out(engine, "run", "-d", "--name", "icc1", "--network", "opts", "-p", "8080", "busybox", "sleep", "60")
    out(engine, "run", "-d", "--name", "icc2", "--network", "opts", "busybox", "sleep", "60")
    assert "mtu 1400" in out(engine, "exec", "icc1", "ip", "link", "show", "eth0")
    assert "default via" in out(engine, "exec", "icc1", "ip", "route")
    ping = docker(engine, "exec", "icc1", "ping", "-c", "1", "-W", "2", "icc2", check=False)
    assert ping.returncode != 0  # enable_icc=false: no traffic between containers of the bridge
    assert f'oifname "{bridge}" drop' in nft("list", "table", "ip", engine.prefix)
    assert subnet not in nft("list", "set", "ip", engine.prefix, "masq_subnets")  # enable_ip_masquerade=false
    assert "127.0.0.1:" in out(engine, "port", "icc1", "8080")  # host_binding_ipv4
    too_long = docker(engine, "network", "create", "-o", "com.docker.network.bridge.name=abcdefghijklmnop",
                      "--subnet", "10.231.71.0/24", "x2",
                      check=False)
    assert too_long.returncode != 0 and "15 characters" in too_long.stderr


def test_icc_on_by_default_and_internal_networks(engine: EngineHandle) -> None:
    out(engine, "network", "create", "--internal", "--subnet", "10.231.72.0/24", "inner")
    (net,) = inspect(engine, "network", "inspect", "inner")
    assert net["Internal"] is True
    out(engine, "run", "-d", "--name", "in1", "--network", "inner", "busybox", "sleep", "60")
    out(engine, "run", "-d", "--name", "in2", "--network", "inner", "busybox", "sleep", "60")
    assert "default" not in out(engine, "exec", "in1", "ip", "route")  # no way out
    assert docker(engine, "exec", "in1", "ping", "-c", "1", "-W", "5", "in2").returncode == 0
    subnet = net["IPAM"]["Config"][0]["Subnet"]
    assert subnet not in nft("list", "set", "ip", engine.prefix, "masq_subnets")


def test_endpoint_settings(engine: EngineHandle) -> None:
    out(engine, "network", "create", "--subnet", "10.231.74.0/24", "--ipv6", "--subnet", "fd7c:9e1f:77::/64",
        "eps")
    out(engine, "run", "-d", "--name", "ep1", "--network", "eps", "--mac-address", "02:42:ab:cd:ef:01",
        "--link-local-ip", "169.254.20.20", "--link-local-ip", "fe80::2020", "--ip", "10.231.74.50",
        "--ip6", "fd7c:9e1f:77::50", "busybox", "sleep", "60")
    addresses = out(engine, "exec", "ep1", "ip", "addr", "show", "eth0")
    assert "link/ether 02:42:ab:cd:ef:01" in addresses
    for wanted in ("inet 10.231.74.50/24", "inet 169.254.20.20/16", "inet6 fd7c:9e1f:77::50/64", "inet6 fe80::2020/64"):
        assert wanted in addresses
    (c,) = inspect(engine, "inspect", "ep1")
    ep = c["NetworkSettings"]["Networks"]["eps"]
    assert ep["MacAddress"] == "02:42:ab:cd:ef:01" and ep["IPAddress"] == "10.231.74.50"
    assert ep["IPAMConfig"] == {"IPv4Address": "10.231.74.50", "IPv6Address": "fd7c:9e1f:77::50",
                                "LinkLocalIPs": ["169.254.20.20", "fe80::2020"]}
    bad = docker(engine, "run", "--rm", "--network", "eps", "--link-local-ip", "10.1.1.1", "busybox", "true",
                 check=False)
    assert bad.returncode != 0 and "link-local" in bad.stderr


def test_rules_go_with_the_network(engine: EngineHandle) -> None:
    out(engine, "network", "create", "--ipv6", "--subnet", "fd7c:9e1f:78::/64", "--subnet", "10.231.73.0/24",
        "-o", "com.docker.network.bridge.name=gbr0", "gone")
    bridge = f"{engine.prefix}gbr0"
    assert bridge in nft("list", "table", "ip", engine.prefix) and bridge in nft("list", "table", "ip6", engine.prefix)
    out(engine, "network", "rm", "gone")
    for family in ("ip", "ip6"):
        assert bridge not in nft("list", "table", family, engine.prefix)
    assert not link(bridge)


def test_icc_and_masquerade_off_for_ipv6_too(engine: EngineHandle) -> None:
    out(engine, "network", "create", "--subnet", "10.231.75.0/24", "--ipv6", "--subnet", "fd7c:9e1f:79::/64",
        "-o", "com.docker.network.bridge.enable_icc=false",
        "-o", "com.docker.network.bridge.enable_ip_masquerade=false", "quiet6")
    out(engine, "run", "-d", "--name", "q1", "--network", "quiet6", "busybox", "sleep", "60")
    out(engine, "run", "-d", "--name", "q2", "--network", "quiet6", "--ip6", "fd7c:9e1f:79::20", "busybox",
        "sleep", "60")
    ping = docker(engine, "exec", "q1", "ping", "-6", "-c", "1", "-W", "2", "fd7c:9e1f:79::20", check=False)
    assert ping.returncode != 0
    assert "fd7c:9e1f:79::/64" not in nft("list", "set", "ip6", engine.prefix, "masq_subnets")
    assert "fd7c:9e1f:79::/64" in nft("list", "set", "ip6", engine.prefix, "subnets")
