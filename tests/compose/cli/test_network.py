"""`pycompose network …` and `container port`: pure rows, bodies and reports, then against a private engine
side by side with the docker CLI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import click
import pytest

from compose.cli.container import port_lines
from compose.cli.container_create import CreateOptions, create_body
from compose.cli.network import create_body as network_body
from compose.cli.network import endpoint_config, network_rows, prune_report
from tests.compose.cli.engines import busybox_engine_in_tmp, ok, pycompose
from tests.compose.cli.engines import docker_out as docker
from tests.engine_fixture import EngineHandle

# pure


def test_rows_sorted_by_name() -> None:
    networks: list[dict[str, Any]] = [
        {"Name": "zeta", "Id": "b" * 64, "Driver": "bridge", "Scope": "local", "Labels": {"b": "2", "a": "1"}},
        {"Name": "alpha", "Id": "a" * 64, "Driver": "null", "Scope": "local", "Internal": True},
    ]
    rows = network_rows(networks)
    assert [r["Name"] for r in rows] == ["alpha", "zeta"]
    assert rows[0]["ID"] == "a" * 12 and rows[0]["Internal"] == "true" and rows[1]["Labels"] == "a=1,b=2"
    assert network_rows(networks, no_trunc=True)[1]["ID"] == "b" * 64


def test_create_body_and_endpoint_config() -> None:
    body = network_body("n1", "bridge", True, False, False, ["a=b"], ["com.docker.network.driver.mtu=1400"],
                        ["10.1.0.0/24"], ["10.1.0.128/25"], ["10.1.0.1"], ["router=10.1.0.5"], "default", [])
    assert body["IPAM"]["Config"] == [{"Subnet": "10.1.0.0/24", "IPRange": "10.1.0.128/25", "Gateway": "10.1.0.1",
                                       "AuxiliaryAddresses": {"router": "10.1.0.5"}}]
    assert body["Internal"] and body["Labels"] == {"a": "b"} and "EnableIPv6" not in body
    with pytest.raises(click.UsageError):
        network_body("n1", "bridge", False, False, False, [], [], [], [], ["10.1.0.1"], [], "default", [])
    assert endpoint_config(["x"], "10.1.0.9", ["db:d"], []) == {
        "Aliases": ["x"], "IPAMConfig": {"IPv4Address": "10.1.0.9"}, "Links": ["db:d"]}
    dual = network_body("n6", "bridge", False, False, True, [], [], ["10.1.0.0/24", "fd7c::/64"], [],
                        ["fd7c::fe", "10.1.0.254"], ["r6=fd7c::5"], "default", [])
    assert dual["EnableIPv6"] is True
    assert dual["IPAM"]["Config"] == [{"Subnet": "10.1.0.0/24", "Gateway": "10.1.0.254"},
                                      {"Subnet": "fd7c::/64", "Gateway": "fd7c::fe",
                                       "AuxiliaryAddresses": {"r6": "fd7c::5"}}]
    with pytest.raises(click.UsageError, match="no matching subnet for gateway"):
        network_body("n1", "bridge", False, False, False, [], [], ["10.1.0.0/24"], [], ["10.2.0.1"], [], "default",
                     [])
    assert endpoint_config([], None, [], [], "fd7c::9", ["169.254.1.1"]) == {
        "IPAMConfig": {"IPv6Address": "fd7c::9", "LinkLocalIPs": ["169.254.1.1"]}}
    assert prune_report({"NetworksDeleted": ["a", "b"]}) == "Deleted Networks:\na\nb\n\n"
    assert prune_report({"NetworksDeleted": None}) == ""


def test_run_flags_become_networking_config() -> None:
    opts = CreateOptions(image="busybox", network="front", network_aliases=("web",), ip="10.1.0.9",
                         publish_all=True, expose=("81", "7000-7001/udp"), add_hosts=("h:host-gateway",),
                         dns=("10.0.0.53",), links=("db:d",))
    body = create_body(opts)
    assert body["NetworkingConfig"] == {"EndpointsConfig": {"front": {
        "Aliases": ["web"], "IPAMConfig": {"IPv4Address": "10.1.0.9"}}}}
    hc = body["HostConfig"]
    assert hc["PublishAllPorts"] and hc["ExtraHosts"] == ["h:host-gateway"] and hc["Dns"] == ["10.0.0.53"]
    assert hc["Links"] == ["db:d"]
    assert set(body["ExposedPorts"]) == {"81/tcp", "7000/udp", "7001/udp"}
    with pytest.raises(click.UsageError):
        create_body(CreateOptions(image="busybox", network_aliases=("web",)))


def test_port_lines() -> None:
    ports = {"443/tcp": None, "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"},
                                         {"HostIp": "127.0.0.1", "HostPort": "9090"}],
             "53/udp": [{"HostIp": "0.0.0.0", "HostPort": "5353"}]}
    assert port_lines("c", ports) == ["53/udp -> 0.0.0.0:5353", "80/tcp -> 0.0.0.0:8080",
                                      "80/tcp -> 127.0.0.1:9090"]
    assert port_lines("c", ports, "80") == ["0.0.0.0:8080", "127.0.0.1:9090"]
    with pytest.raises(click.ClickException, match="No public port '443/tcp' published for c"):
        port_lines("c", ports, "443/tcp")


# against the engine


@pytest.fixture(scope="module")
def engine() -> Iterator[EngineHandle]:
    with busybox_engine_in_tmp("pyc-netcli-") as handle:
        try:
            yield handle
        finally:
            for args in (("container", "rm", "-f", "web"), ("network", "rm", "cli1", "cli2")):
                pycompose(handle, *args)


@pytest.mark.root
@pytest.mark.timeout(120)
def test_network_commands_match_docker(engine: EngineHandle) -> None:
    network_id = ok(engine, "network", "create", "--label", "x=y", "--subnet", "10.131.0.0/24", "cli1").strip()
    assert len(network_id) == 64
    ok(engine, "network", "create", "cli2")
    assert ok(engine, "network", "ls") == docker(engine, "network", "ls")
    assert ok(engine, "network", "ls", "-q", "-f", "label=x=y") == network_id[:12] + "\n"
    assert ok(engine, "network", "inspect", "cli1") == docker(engine, "network", "inspect", "cli1")
    assert ok(engine, "network", "inspect", "-f", "{{.Name}} {{.Driver}}", "cli1") == "cli1 bridge\n"
    ok(engine, "container", "run", "-d", "--name", "web", "--network", "cli1", "--network-alias", "www",
       "-p", "80", "busybox", "sleep", "300")
    ok(engine, "network", "connect", "--alias", "other", "cli2", "web")
    assert sorted(docker(engine, "inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
                         "web").split()) == ["cli1", "cli2"]
    assert ok(engine, "container", "port", "web") == docker(engine, "port", "web")
    assert ok(engine, "container", "port", "web", "80/tcp").startswith("0.0.0.0:")
    missing = pycompose(engine, "container", "port", "web", "81")
    assert missing.returncode != 0 and "No public port '81/tcp' published for web" in missing.stderr
    ok(engine, "network", "disconnect", "cli2", "web")
    busy = pycompose(engine, "network", "rm", "cli1", "cli2")
    assert busy.returncode == 1 and busy.stdout == "cli2\n" and "active endpoints" in busy.stderr
    ok(engine, "container", "rm", "-f", "web")
    declined = ok(engine, "network", "prune", stdin="n\n")
    assert declined == ("WARNING! This will remove all custom networks not used by at least one container.\n"
                        "Are you sure you want to continue? [y/N] ")
    assert ok(engine, "network", "prune", "-f") == "Deleted Networks:\ncli1\n\n"
    assert ok(engine, "network", "rm", "-f", "nope") == ""
