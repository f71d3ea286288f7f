"""The real docker CLI against our engine: `docker network …`, `docker run --network/-p`, `docker port`."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.engine_fixture import EngineHandle
from tests.runtime.api.containers_env import (
    docker_env,
    eventually,
    inspect,
    out,
    private_engine,
    remove_all_containers,
    run,
)

__all__ = ["docker_env", "private_engine"]

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]


@pytest.fixture
def env(docker_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """The engine, left without containers and user networks after each test."""
    yield docker_env
    remove_all_containers(docker_env)
    names = out(docker_env, "network", "ls", "--format", "{{.Name}}").split()
    extra = [n for n in names if n not in ("bridge", "host", "none")]
    if extra:
        run(docker_env, "network", "rm", *extra, check=False)


def network_inspect(env: dict[str, str], name: str) -> dict[str, Any]:
    data: list[dict[str, Any]] = json.loads(out(env, "network", "inspect", name))
    return data[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return int(s.getsockname()[1])


def test_predefined_networks_are_listed(env: dict[str, str]) -> None:
    rows = [line.split() for line in out(env, "network", "ls").splitlines()]
    assert rows[0] == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    assert sorted((r[1], r[2]) for r in rows[1:]) == [("bridge", "bridge"), ("host", "host"), ("none", "null")]
    bridge = network_inspect(env, "bridge")
    assert bridge["Options"]["com.docker.network.bridge.default_bridge"] == "true"
    assert bridge["IPAM"]["Config"][0]["Subnet"].endswith("/16")
    refused = run(env, "network", "rm", "bridge", check=False)
    assert refused.returncode != 0 and b"pre-defined" in refused.stderr


def test_create_ls_inspect_rm(env: dict[str, str], private_engine: EngineHandle) -> None:
    network_id = out(env, "network", "create", "--label", "team=net", "--subnet", "10.123.0.0/24",
                     "--gateway", "10.123.0.254", "--ip-range", "10.123.0.128/25", "-o",
                     "com.docker.network.driver.mtu=1400", "n1").strip()
    assert len(network_id) == 64
    assert "n1" in out(env, "network", "ls", "--filter", "label=team=net", "--format", "{{.Name}}").split()
    assert out(env, "network", "ls", "-q", "--filter", "name=n1").split() == [network_id[:12]]
    data = network_inspect(env, "n1")
    assert data["Id"] == network_id and data["Driver"] == "bridge" and data["Labels"] == {"team": "net"}
    assert data["IPAM"]["Config"] == [{"Subnet": "10.123.0.0/24", "Gateway": "10.123.0.254",
                                       "IPRange": "10.123.0.128/25"}]
    bridge = next(n for n in _links(private_engine.prefix) if n != private_engine.prefix + "br0")
    assert _mtu(bridge) == 1400
    duplicate = run(env, "network", "create", "n1", check=False)
    assert duplicate.returncode != 0 and b"already exists" in duplicate.stderr
    overlap = run(env, "network", "create", "--subnet", "10.123.0.0/16", "n2", check=False)
    assert overlap.returncode != 0 and b"overlaps" in overlap.stderr
    assert out(env, "network", "rm", "n1").strip() == "n1"
    assert bridge not in _links(private_engine.prefix)
    missing = run(env, "network", "inspect", "n1", check=False)
    assert missing.returncode != 0


def test_run_on_a_network_static_ip_and_mac(env: dict[str, str]) -> None:
    run(env, "network", "create", "--subnet", "10.124.0.0/24", "n1")
    run(env, "run", "-d", "--name", "aa", "--network", "n1", "--ip", "10.124.0.10", "--mac-address",
        "02:42:0a:7c:00:99", "busybox", "sleep", "300")
    settings = inspect(env, "aa")["NetworkSettings"]["Networks"]["n1"]  # type: ignore[index]
    assert settings["IPAddress"] == "10.124.0.10" and settings["Gateway"] == "10.124.0.1"
    assert settings["MacAddress"] == "02:42:0a:7c:00:99"
    shown = out(env, "exec", "aa", "ip", "-o", "link", "show", "eth0")
    assert "02:42:0a:7c:00:99" in shown
    # No address reuse while in use.
    clash = run(env, "run", "-d", "--name", "bb", "--network", "n1", "--ip", "10.124.0.10", "busybox", "sleep",
                "300", check=False)
    assert clash.returncode != 0 and b"in use" in clash.stderr
    containers = network_inspect(env, "n1")["Containers"]
    assert [c["Name"] for c in containers.values()] == ["aa"]
    assert next(iter(containers.values()))["IPv4Address"] == "10.124.0.10/24"
    busy = run(env, "network", "rm", "n1", check=False)
    assert busy.returncode != 0 and b"active endpoints" in busy.stderr
    # The static address and MAC survive a restart.
    run(env, "restart", "-t", "0", "aa")
    settings = inspect(env, "aa")["NetworkSettings"]["Networks"]["n1"]  # type: ignore[index]
    assert settings["IPAddress"] == "10.124.0.10" and settings["MacAddress"] == "02:42:0a:7c:00:99"


def test_connect_and_disconnect_a_running_container(env: dict[str, str]) -> None:
    run(env, "network", "create", "n1")
    run(env, "network", "create", "n2")
    run(env, "run", "-d", "--name", "aa", "--network", "n1", "busybox", "sleep", "300")
    run(env, "run", "-d", "--name", "bb", "--network", "n2", "busybox", "sleep", "300")
    unreachable = run(env, "exec", "bb", "nslookup", "aa", check=False)
    assert b"Name:" not in unreachable.stdout.split(b"Server:")[-1].split(b"\n\n", 1)[-1]
    run(env, "network", "connect", "--alias", "extra", "n2", "aa")
    networks = inspect(env, "aa")["NetworkSettings"]["Networks"]  # type: ignore[index]
    assert sorted(networks) == ["n1", "n2"] and networks["n2"]["Aliases"] == ["extra"]
    assert "eth1" in out(env, "exec", "aa", "ip", "-o", "addr")
    address = networks["n2"]["IPAddress"]
    for name in ("aa", "extra"):
        eventually(lambda n=name: f"Address: {address}" in out(env, "exec", "bb", "nslookup", n))  # type: ignore[misc]
    again = run(env, "network", "connect", "n2", "aa", check=False)
    assert again.returncode != 0 and b"already exists" in again.stderr
    run(env, "network", "disconnect", "n2", "aa")
    assert list(inspect(env, "aa")["NetworkSettings"]["Networks"]) == ["n1"]  # type: ignore[index]
    assert "eth1" not in out(env, "exec", "aa", "ip", "-o", "addr")
    # A stopped container is connected for its next start.
    run(env, "create", "--name", "cc", "--network", "n1", "busybox", "sleep", "300")
    run(env, "network", "connect", "n2", "cc")
    run(env, "start", "cc")
    assert sorted(inspect(env, "cc")["NetworkSettings"]["Networks"]) == ["n1", "n2"]  # type: ignore[index]
    assert "eth1" in out(env, "exec", "cc", "ip", "-o", "addr")


def test_the_default_route_moves_when_its_network_is_disconnected(env: dict[str, str]) -> None:
    run(env, "network", "create", "--internal", "inner")
    run(env, "network", "create", "n1")
    run(env, "network", "create", "n2")
    run(env, "run", "-d", "--name", "rr", "--network", "inner", "busybox", "sleep", "300")
    assert "default" not in out(env, "exec", "rr", "ip", "route")  # internal: no way out
    run(env, "network", "connect", "n1", "rr")
    gateway1 = network_inspect(env, "n1")["IPAM"]["Config"][0]["Gateway"]
    assert f"default via {gateway1}" in out(env, "exec", "rr", "ip", "route")  # the first outward one
    run(env, "network", "connect", "n2", "rr")
    assert f"default via {gateway1}" in out(env, "exec", "rr", "ip", "route")  # stays where it was
    run(env, "network", "disconnect", "n1", "rr")
    gateway2 = network_inspect(env, "n2")["IPAM"]["Config"][0]["Gateway"]
    assert f"default via {gateway2}" in out(env, "exec", "rr", "ip", "route")  # moved to the one left


def test_publish_and_docker_port(env: dict[str, str]) -> None:
    port = free_port()
    run(env, "run", "-d", "--name", "web", "-p", f"{port}:80", "-P", "--expose", "81", "busybox", "sh", "-c",
        "mkdir -p /www && echo hi > /www/index.html && exec httpd -f -p 80 -h /www")
    lines = out(env, "port", "web").splitlines()
    assert f"80/tcp -> 0.0.0.0:{port}" in lines
    assert any(line.startswith("81/tcp -> 0.0.0.0:") for line in lines)
    assert out(env, "port", "web", "80").splitlines() == [f"0.0.0.0:{port}"]
    eventually(lambda: _get(port) == "hi")
    ps = out(env, "ps", "--format", "{{.Ports}}")
    assert f"0.0.0.0:{port}->80/tcp" in ps
    run(env, "stop", "-t", "0", "web")
    assert inspect(env, "web")["NetworkSettings"]["Ports"] == {}  # type: ignore[index]
    assert out(env, "port", "web").strip() == ""


def test_prune_removes_unused_networks(env: dict[str, str]) -> None:
    run(env, "network", "create", "--label", "keep=no", "p1")
    run(env, "network", "create", "p2")
    run(env, "run", "-d", "--name", "user", "--network", "p2", "busybox", "sleep", "300")
    report = out(env, "network", "prune", "-f")
    assert report == "Deleted Networks:\np1\n\n"
    names = out(env, "network", "ls", "--format", "{{.Name}}").split()
    assert "p2" in names and "p1" not in names


def _get(port: int) -> str:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            conn.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
            data = b""
            while chunk := conn.recv(4096):
                data += chunk
    except OSError:
        return ""
    return data.decode().split("\r\n\r\n", 1)[-1].strip()


def _links(prefix: str) -> list[str]:
    import os

    return sorted(n for n in os.listdir("/sys/class/net") if n.startswith(prefix))


def _mtu(link: str) -> int:
    with open(f"/sys/class/net/{link}/mtu") as f:
        return int(f.read())
