"""Containers on networks without a kernel: the container manager over a fake supervisor, the network
manager over fake links and nftables. Start/stop, a taken port, connect/disconnect, engine restart."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import anyio
import pytest

from runtime.containers import network_connect, networking
from runtime.containers.manager import ContainerManager
from runtime.errors import EngineError
from runtime.network.manager import NetworkManager
from tests.runtime.containers.fakes import FakeEngine, FakeSupervisor
from tests.runtime.network.fakes import FakeLinks, FakeTable, fake_manager

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]


@asynccontextmanager
async def engine(root: Path, supervisor: FakeSupervisor) -> AsyncIterator[ContainerManager]:
    fake = FakeEngine(root)
    nets = fake_manager(root / "net-state")
    manager = ContainerManager(fake.stores(), supervisor, nets)  # type: ignore[arg-type]
    async with anyio.create_task_group() as tasks:
        await tasks.start(nets.run)
        await tasks.start(manager.run)
        try:
            yield manager
        finally:
            tasks.cancel_scope.cancel()


def nets_of(manager: ContainerManager) -> NetworkManager:
    nets = networking.networks_of(manager.table)
    assert nets is not None
    return nets


def links_of(manager: ContainerManager) -> FakeLinks:
    links = nets_of(manager).links
    assert isinstance(links, FakeLinks)
    return links


def table_of(manager: ContainerManager) -> FakeTable:
    table: Any = nets_of(manager).nat
    assert isinstance(table, FakeTable)
    return table


def body(network: str, **extra: Any) -> dict[str, Any]:
    hc = {"NetworkMode": network, **extra.pop("HostConfig", {})}
    return {"Image": "busybox", "Cmd": ["sleep", "1"], "HostConfig": hc, **extra}


async def until(condition: Any) -> None:
    with anyio.fail_after(5):
        while not condition():
            await anyio.sleep(0.01)


async def test_start_and_stop_on_a_user_network(tmp_path: Path) -> None:
    supervisor = FakeSupervisor()
    async with engine(tmp_path, supervisor) as manager:
        nets = nets_of(manager)
        front = await nets.create({"Name": "front", "IPAM": {"Config": [{"Subnet": "10.7.0.0/24"}]}})
        created = await manager.create(body("front", HostConfig={"PortBindings": {"80/tcp": [{}]}},
                                            NetworkingConfig={"EndpointsConfig": {"front": {"Aliases": ["web"]}}}),
                                       "app")
        record = manager.table.records.get(created["Id"])
        assert list(record.network_settings["Networks"]) == ["front"]
        await manager.start("app")
        endpoint = record.network_settings["Networks"]["front"]
        assert endpoint["IPAddress"] == "10.7.0.2" and endpoint["Gateway"] == "10.7.0.1"
        veth = links_of(manager).veths[f"pyc0000v{endpoint['EndpointID'][:7]}"]
        assert veth.netns == supervisor.states[record.id].pid and veth.ifname == "eth0"
        assert veth.gateway == IPv4Address("10.7.0.1") and veth.mac == endpoint["MacAddress"]
        assert "10.7.0.2\t" in Path(record.hosts_path).read_text()
        assert Path(record.resolv_conf_path).read_text().startswith("nameserver 10.7.0.1\n")
        assert nets.records.resolve(IPv4Address("10.7.0.2"), "web") == [IPv4Address("10.7.0.2")]
        manager.rename("app", "renamed")
        assert nets.records.resolve(IPv4Address("10.7.0.2"), "renamed") == [IPv4Address("10.7.0.2")]
        assert nets.records.resolve(IPv4Address("10.7.0.2"), "app") == []
        host_port = int(record.network_settings["Ports"]["80/tcp"][0]["HostPort"])
        assert table_of(manager).ports() == {f"tcp . {host_port}"}
        await manager.stop("renamed", timeout=0)
        assert record.network_settings["Ports"] == {} and endpoint["IPAddress"] == ""
        assert table_of(manager).ports() == set() and nets.ports.published(record.id) == []
        assert nets.store.get(front.id).get_pool().allocated == {}
        await until(lambda: not links_of(manager).veths)
        assert nets.records.querier(IPv4Address("10.7.0.2")) is None
        assert endpoint["MacAddress"]  # stable for the endpoint's next start


async def test_a_taken_port_fails_the_start_and_leaves_nothing(tmp_path: Path) -> None:
    supervisor = FakeSupervisor()
    async with engine(tmp_path, supervisor) as manager:
        nets = nets_of(manager)
        with socket.socket() as holder:
            holder.bind(("0.0.0.0", 0))
            holder.listen(1)
            busy = holder.getsockname()[1]
            await manager.create(body("bridge", HostConfig={"PortBindings": {
                "81/tcp": [{}], "80/tcp": [{"HostPort": str(busy)}]}}), "clash")
            with pytest.raises(EngineError, match=f"Bind for 0.0.0.0:{busy} failed: port is already allocated"):
                await manager.start("clash")
        record = manager.table.records.get("clash")
        assert record.state.status == "created" and "already allocated" in record.state.error
        assert ("delete", record.id) in supervisor.calls
        assert not links_of(manager).veths and nets.ports.published(record.id) == []
        assert nets.store.get("bridge").get_pool().allocated == {} and nets.attached == {}


async def test_connect_and_disconnect_a_running_container(tmp_path: Path) -> None:
    async with engine(tmp_path, FakeSupervisor()) as manager:
        nets = nets_of(manager)
        await nets.create({"Name": "front"})
        await nets.create({"Name": "back"})
        await manager.create(body("front"), "app")
        await manager.start("app")
        await network_connect.connect(manager.table, "back", "app", {"Aliases": ["db"]})
        record = manager.table.records.get("app")
        back = record.network_settings["Networks"]["back"]
        assert back["IPAddress"] and back["Aliases"] == ["db"]
        veths = links_of(manager).veths
        assert sorted(v.ifname for v in veths.values()) == ["eth0", "eth1"]
        assert next(v for v in veths.values() if v.ifname == "eth1").gateway is None  # one default route
        assert back["IPAddress"] in Path(record.hosts_path).read_text()
        with pytest.raises(EngineError, match="already exists"):
            await network_connect.connect(manager.table, "back", "app", None)
        await network_connect.disconnect(manager.table, "back", "app", False)
        assert list(record.network_settings["Networks"]) == ["front"]
        assert [v.ifname for v in links_of(manager).veths.values()] == ["eth0"]
        assert network_connect.endpoints_in_use(manager.table).keys() == {nets.store.get("front").id}


async def test_modes_none_and_container(tmp_path: Path) -> None:
    supervisor = FakeSupervisor()
    async with engine(tmp_path, supervisor) as manager:
        await manager.create(body("none"), "alone")
        await manager.start("alone")
        assert links_of(manager).loopbacks == [supervisor.states[manager.table.records.get("alone").id].pid]
        await manager.create(body("bridge"), "peer")
        with pytest.raises(EngineError):
            await manager.create(body("container:peer", Hostname="mine"), "bad")
        await manager.create(body("container:peer"), "joined")
        joined = manager.table.records.get("joined")
        peer = manager.table.records.get("peer")
        assert joined.host_config["NetworkMode"] == f"container:{peer.id}"
        assert joined.config["Hostname"] == peer.config["Hostname"]
        with pytest.raises(EngineError, match="non running container"):
            await manager.start("joined")
        await manager.start("peer")
        await manager.start("joined")
        spec = supervisor.specs[joined.id]
        assert ("net", f"/proc/{peer.state.pid}/ns/net") in spec.join_namespaces
        assert Path(joined.hosts_path).read_text() == Path(peer.hosts_path).read_text()


async def test_engine_restart_restores_what_running_containers_hold(tmp_path: Path) -> None:
    supervisor = FakeSupervisor()
    async with engine(tmp_path, supervisor) as manager:
        await nets_of(manager).create({"Name": "front"})
        await manager.create(body("front", HostConfig={"PortBindings": {"80/tcp": [{}]}}), "app")
        await manager.create(body("front"), "gone")
        await manager.start("app")
        await manager.start("gone")
        app = manager.table.records.get("app")
        address = app.network_settings["Networks"]["front"]["IPAddress"]
        port = app.network_settings["Ports"]["80/tcp"][0]["HostPort"]
        gone_id = manager.table.records.get("gone").id
    # While the engine was away, "gone" exited.
    supervisor.states[gone_id].status = "exited"
    async with engine(tmp_path, supervisor) as manager:
        nets = nets_of(manager)
        app = manager.table.records.get("app")
        assert app.state.status == "running"
        assert nets.records.resolve(IPv4Address(address), "app") == [IPv4Address(address)]
        assert [p.host_port for p in nets.ports.published(app.id)] == [int(port)]
        assert table_of(manager).ports() == {f"tcp . {port}"}
        gone = manager.table.records.get("gone")
        assert gone.network_settings["Networks"]["front"]["IPAddress"] == ""
        owners = set(nets.store.get("front").get_pool().allocated.values())
        assert owners == {app.network_settings["Networks"]["front"]["EndpointID"]}
