"""IPv6 through the docker CLI against a private engine: dual-stack networks, ping6, AAAA, ports on `::`.

Traffic stays on loopback and on the networks the tests make: the masquerade
of IPv6 subnets out of the host is checked in the kernel's ruleset, never
by sending anything out.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compose.cli.engines import (
    DOCKER,
    busybox_engine_in_tmp,
    engine_with_busybox,
    pycompose,
    remove_containers_then,
    stop_engine,
)
from tests.compose.cli.engines import docker_cli as docker
from tests.compose.cli.engines import docker_out as out
from tests.engine_fixture import EngineHandle, start_private_engine

pytestmark = [pytest.mark.root, pytest.mark.timeout(180)]

SUBNET6 = "fd7c:9e1f:42::/64"


@pytest.fixture(scope="module")
def module_engine() -> Iterator[EngineHandle]:
    if DOCKER is None:
        pytest.skip("no docker CLI on PATH")
    if not Path("/proc/net/if_inet6").exists():
        pytest.skip("this kernel has IPv6 disabled")
    with busybox_engine_in_tmp("pyc-net6-") as handle:
        yield handle


@pytest.fixture
def engine(module_engine: EngineHandle) -> Iterator[EngineHandle]:
    yield module_engine
    remove_containers_then(module_engine, "network", "prune", "--force")


def inspect(handle: EngineHandle, *args: str) -> object:
    return json.loads(out(handle, *args))


def nft(*args: str) -> str:
    return subprocess.run(["nft", *args], capture_output=True, text=True, check=False).stdout


def _connect6(port: int) -> bytes:
    deadline, got = time.monotonic() + 10, b""
    while time.monotonic() < deadline and b"hello6" not in got:
        try:
            with socket.create_connection(("::1", port), timeout=5) as conn:
                got = conn.recv(100)
        except OSError:
            pass
        if b"hello6" not in got:
            time.sleep(0.2)
    return got


def test_ipv6_network_and_ping6(engine: EngineHandle) -> None:
    out(engine, "network", "create", "--subnet", "10.231.41.0/24", "--ipv6", "--subnet", SUBNET6, "net6")
    (net,) = inspect(engine, "network", "inspect", "net6")  # type: ignore[misc]
    assert net["EnableIPv6"] is True
    assert net["IPAM"]["Config"] == [{"Subnet": "10.231.41.0/24", "Gateway": "10.231.41.1"},
                                     {"Subnet": SUBNET6, "Gateway": "fd7c:9e1f:42::1"}]  # dual-stack
    out(engine, "run", "-d", "--name", "c6a", "--network", "net6", "busybox", "sleep", "60")
    out(engine, "run", "-d", "--name", "c6b", "--network", "net6", "--ip6", "fd7c:9e1f:42::99", "busybox",
        "sleep", "60")
    (a,) = inspect(engine, "inspect", "c6a")  # type: ignore[misc]
    ep = a["NetworkSettings"]["Networks"]["net6"]
    assert ep["GlobalIPv6Address"].startswith("fd7c:9e1f:42::")
    assert ep["GlobalIPv6PrefixLen"] == 64
    assert ep["IPv6Gateway"] == "fd7c:9e1f:42::1"
    (b,) = inspect(engine, "inspect", "c6b")  # type: ignore[misc]
    assert b["NetworkSettings"]["Networks"]["net6"]["GlobalIPv6Address"] == "fd7c:9e1f:42::99"
    ping = docker(engine, "exec", "c6a", "ping", "-6", "-c", "1", "-W", "5", "fd7c:9e1f:42::99")
    assert "1 packets received" in ping.stdout
    # By name: the embedded DNS answers AAAA.
    ping = docker(engine, "exec", "c6a", "ping", "-6", "-c", "1", "-W", "5", "c6b")
    assert "fd7c:9e1f:42::99" in ping.stdout and "1 packets received" in ping.stdout
    routes = out(engine, "exec", "c6a", "ip", "-6", "route")
    assert "default via fd7c:9e1f:42::1 dev eth0" in routes
    (net,) = inspect(engine, "network", "inspect", "net6")  # type: ignore[misc]
    shown = {c["Name"]: c["IPv6Address"] for c in net["Containers"].values()}
    assert shown["c6b"] == "fd7c:9e1f:42::99/64"
    # The bridge holds both gateways; the subnet is masqueraded out of the host (ip6 table).
    bridge = out(engine, "exec", "c6a", "cat", "/proc/net/if_inet6")
    assert bridge
    ruleset = nft("list", "table", "ip6", engine.prefix)
    assert "fd7c:9e1f:42::/64" in ruleset and "masquerade" in ruleset


def test_default_ipv6_pool(engine: EngineHandle) -> None:
    out(engine, "network", "create", "--subnet", "10.231.42.0/24", "--ipv6", "pool6")
    (net,) = inspect(engine, "network", "inspect", "pool6")  # type: ignore[misc]
    (v6,) = [c for c in net["IPAM"]["Config"] if ":" in c["Subnet"]]
    assert v6["Subnet"].startswith("fd") and v6["Subnet"].endswith("/64")
    routes = Path("/proc/net/ipv6_route").read_text()
    host = [line.split()[0] for line in routes.splitlines() if not line.split()[9].startswith(engine.prefix)]
    prefix = v6["Subnet"].split("::")[0].replace(":", "").ljust(16, "0")
    assert not any(r.startswith(prefix) for r in host)  # not a subnet the host routes already


def test_ipv6_refused_where_dockerd_refuses(engine: EngineHandle) -> None:
    result = docker(engine, "network", "create", "--subnet", "10.231.61.0/24", "--subnet", SUBNET6, "no6",
                    check=False)
    assert result.returncode != 0 and "IPv6" in result.stderr
    out(engine, "network", "create", "--subnet", "10.231.60.0/24", "v4only")
    result = docker(engine, "run", "--rm", "--network", "v4only", "--ip6", "fd00:1::5", "busybox", "true",
                    check=False)
    assert result.returncode != 0


def test_published_port_on_ipv6_loopback(engine: EngineHandle) -> None:
    out(engine, "network", "create", "--subnet", "10.231.43.0/24", "--ipv6", "--subnet", "fd7c:9e1f:43::/64",
        "pub6")
    out(engine, "run", "-d", "--name", "web", "--network", "pub6", "-p", "[::]::8080", "busybox",
        "sh", "-c", "while true; do echo hello6 | nc -l -p 8080; done")
    (web,) = inspect(engine, "inspect", "web")  # type: ignore[misc]
    (binding,) = web["NetworkSettings"]["Ports"]["8080/tcp"]
    assert binding["HostIp"] == "::"
    port = int(binding["HostPort"])
    assert f"[::]:{port}" in out(engine, "port", "web")
    assert b"hello6" in _connect6(port)


def test_every_address_means_ipv6_too_on_dual_stack(engine: EngineHandle) -> None:
    out(engine, "network", "create", "--subnet", "10.231.44.0/24", "--ipv6", "--subnet", "fd7c:9e1f:44::/64",
        "both6")
    out(engine, "run", "-d", "--name", "web2", "--network", "both6", "-p", "8080", "busybox", "sleep", "60")
    (w,) = inspect(engine, "inspect", "web2")  # type: ignore[misc]
    ips = sorted(b["HostIp"] for b in w["NetworkSettings"]["Ports"]["8080/tcp"])
    assert ips == ["0.0.0.0", "::"]
    docker(engine, "rm", "-f", "web2")
    assert "pub_any" in nft("list", "table", "ip6", engine.prefix)
    assert "8080" not in nft("list", "map", "ip6", engine.prefix, "pub_any")


def test_ipv6_tables_removed(engine: EngineHandle) -> None:
    out(engine, "network", "create", "--subnet", "10.231.45.0/24", "--ipv6", "--subnet", "fd7c:9e1f:45::/64",
        "gone6")
    assert "fd7c:9e1f:45::/64" in nft("list", "table", "ip6", engine.prefix)
    out(engine, "network", "rm", "gone6")
    listing = nft("list", "table", "ip6", engine.prefix)
    assert "fd7c:9e1f:45" not in listing and "from_" not in listing


def test_connect_a_running_container_to_a_dual_stack_network(engine: EngineHandle) -> None:
    out(engine, "network", "create", "--subnet", "10.231.46.0/24", "--ipv6", "--subnet", "fd7c:9e1f:46::/64",
        "late6")
    out(engine, "run", "-d", "--name", "peer6", "--network", "late6", "busybox", "sleep", "60")
    out(engine, "run", "-d", "--name", "joiner", "busybox", "sleep", "60")
    out(engine, "network", "connect", "--ip6", "fd7c:9e1f:46::77", "late6", "joiner")
    assert "inet6 fd7c:9e1f:46::77/64" in out(engine, "exec", "joiner", "ip", "addr", "show", "eth1")
    (peer,) = inspect(engine, "inspect", "peer6")  # type: ignore[misc]
    target = peer["NetworkSettings"]["Networks"]["late6"]["GlobalIPv6Address"]
    assert docker(engine, "exec", "joiner", "ping", "-6", "-c", "1", "-W", "5", target).returncode == 0
    out(engine, "network", "disconnect", "bridge", "joiner")  # the default routes move to late6
    assert "default via fd7c:9e1f:46::1 dev eth1" in out(engine, "exec", "joiner", "ip", "-6", "route")
    out(engine, "network", "disconnect", "late6", "joiner")
    (net,) = inspect(engine, "network", "inspect", "late6")  # type: ignore[misc]
    assert [c["Name"] for c in net["Containers"].values()] == ["peer6"]


COMPOSE = """\
name: v6proj
services:
  one:
    image: busybox
    command: sleep 60
    networks:
      back:
        ipv6_address: fd7c:9e1f:47::10
  two:
    image: busybox
    command: sleep 60
    networks: [back]
networks:
  back:
    enable_ipv6: true
    ipam:
      config:
        - subnet: 10.231.47.0/24
        - subnet: fd7c:9e1f:47::/64
"""


def test_compose_project_on_a_dual_stack_network(engine: EngineHandle, tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    up = pycompose(engine, "up", "-d", cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    try:
        ping = docker(engine, "exec", "v6proj-two-1", "ping", "-6", "-c", "1", "-W", "5", "one")
        assert "fd7c:9e1f:47::10" in ping.stdout and "1 packets received" in ping.stdout
    finally:
        down = pycompose(engine, "down", cwd=tmp_path)
        assert down.returncode == 0, down.stderr


def test_engine_kill_9_keeps_dual_stack_containers(module_engine: EngineHandle, tmp_path: Path) -> None:
    handle, _ = engine_with_busybox(tmp_path)
    try:
        out(handle, "network", "create", "--subnet", "10.231.48.0/24", "--ipv6", "--subnet", "fd7c:9e1f:48::/64",
            "keep6")
        out(handle, "run", "-d", "--name", "srv6", "--network", "keep6", "-p", "[::]::8080", "busybox",
            "sh", "-c", "while true; do echo hello6 | nc -l -p 8080; done")
        out(handle, "run", "-d", "--name", "cli6", "--network", "keep6", "busybox", "sleep", "120")
        port = int(out(handle, "port", "srv6", "8080").split(":")[-1])
        assert b"hello6" in _connect6(port)
        handle.process.send_signal(signal.SIGKILL)
        handle.process.wait(10)
        handle = start_private_engine(tmp_path / "engine")
        assert b"hello6" in _connect6(port)  # the host port and its ::1 relay are back
        ping = docker(handle, "exec", "cli6", "ping", "-6", "-c", "1", "-W", "5", "srv6")
        assert "1 packets received" in ping.stdout
        assert "fd7c:9e1f:48::/64" in nft("list", "table", "ip6", handle.prefix)
        docker(handle, "rm", "-f", "srv6", "cli6")
        docker(handle, "network", "rm", "keep6")
    finally:
        stop_engine(handle)
    assert handle.prefix not in nft("list", "tables")
