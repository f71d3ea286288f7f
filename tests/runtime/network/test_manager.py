"""The network manager over fake links and nftables: boot, create/remove, addresses, published ports."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import anyio
import pytest

from runtime.network.docker_json import Forbidden
from runtime.network.errors import NetworkConflict, NetworkInvalid, PortAllocated
from runtime.network.manager import NetworkManager
from runtime.network.ports import PortSpec
from tests.runtime.network.fakes import FakeLinks, FakeTable, fake_manager

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]


@asynccontextmanager
async def running(manager: NetworkManager) -> AsyncIterator[NetworkManager]:
    async with anyio.create_task_group() as tasks:
        await tasks.start(manager.run)
        try:
            yield manager
        finally:
            tasks.cancel_scope.cancel()


def _links(manager: NetworkManager) -> FakeLinks:
    assert isinstance(manager.links, FakeLinks)
    return manager.links


def _table(manager: NetworkManager) -> FakeTable:
    table: Any = manager.nat
    assert isinstance(table, FakeTable)
    return table


async def test_boot_makes_the_predefined_networks_once(tmp_path: Path) -> None:
    async with running(fake_manager(tmp_path)) as manager:
        names = sorted(n.name for n in manager.store)
        default = manager.store.get("bridge")
        ids = {n.name: n.id for n in manager.store}
    assert names == ["bridge", "host", "none"]
    assert default.default and default.bridge == "pyc0000br0" and default.pool is not None
    assert default.pool["subnet"] == "172.17.0.0/16"
    assert "pyc0000br0" in _links(manager).bridges and _table(manager).resets == 1
    # A restart finds the same networks and rebuilds the table.
    again = fake_manager(tmp_path)
    async with running(again):
        assert {n.name: n.id for n in again.store} == ids
        assert "pyc0000br0" in _table(again).networks


async def test_default_bridge_avoids_host_routes(tmp_path: Path) -> None:
    taken = [IPv4Network("172.17.0.0/16"), IPv4Network("172.18.0.0/17")]
    async with running(fake_manager(tmp_path, routes=taken)) as manager:
        assert manager.store.get("bridge").get_pool().subnet == IPv4Network("172.19.0.0/16")


async def test_create_and_remove_a_network(tmp_path: Path) -> None:
    async with running(fake_manager(tmp_path)) as manager:
        network = await manager.create({"Name": "front", "Labels": {"a": "b"}})
        assert network.bridge == "pyc0000br1" and network.user_defined
        assert network.get_pool().subnet == IPv4Network("172.18.0.0/16")
        assert manager.dns is not None and manager.dns.addresses == ["172.18.0.1"]
        assert _table(manager).networks["pyc0000br1"].dns_address == IPv4Address("172.18.0.1")
        custom = await manager.create({"Name": "back", "Internal": True,
                                       "Options": {"com.docker.network.bridge.name": "mybr"},
                                       "IPAM": {"Config": [{"Subnet": "10.5.0.0/24", "Gateway": "10.5.0.254"}]}})
        assert custom.bridge == "pyc0000mybr" and str(custom.gateway) == "10.5.0.254"
        assert _table(manager).networks["pyc0000mybr"].internal
        with pytest.raises(NetworkConflict):
            await manager.create({"Name": "front"})
        with pytest.raises(NetworkInvalid, match="too long"):
            await manager.create({"Name": "x", "Options": {"com.docker.network.bridge.name": "muchtoolong"}})
        with pytest.raises(Forbidden):
            await manager.remove(manager.store.get("bridge"))
        await manager.remove(network)
        assert manager.store.find("front") is None and "pyc0000br1" not in _links(manager).bridges
        assert manager.dns.addresses == ["10.5.0.254"]
        # The bridge index and subnet are free again.
        again = await manager.create({"Name": "third"})
        assert again.bridge == "pyc0000br1" and again.get_pool().subnet == IPv4Network("172.18.0.0/16")


async def test_addresses_are_allocated_released_and_reconciled(tmp_path: Path) -> None:
    async with running(fake_manager(tmp_path)) as manager:
        network = await manager.create({"Name": "front", "IPAM": {"Config": [{"Subnet": "10.6.0.0/24"}]}})
        first = manager.allocate(network, "ep1")
        static = manager.allocate(network, "ep2", "10.6.0.50")
        assert str(first) == "10.6.0.2/24" and str(static) == "10.6.0.50/24"
        held = manager.allocate(network, "ep3", held="10.6.0.7")
        assert str(held) == "10.6.0.7/24"
        manager.release(network.id, "ep1")
        assert manager.store.get("front").get_pool().owner_of("10.6.0.2") is None
        manager.reconcile_pools({"ep2"})
        pool = manager.store.get("front").get_pool()
        assert pool.allocated == {"10.6.0.50": "ep2"}


async def test_publish_all_or_nothing_and_unpublish(tmp_path: Path) -> None:
    async with running(fake_manager(tmp_path)) as manager:
        published = await manager.publish("c1", [PortSpec(80), PortSpec(53, "udp")], IPv4Address("172.17.0.2"))
        tcp = next(p for p in published if p.protocol == "tcp")
        assert _table(manager).ports() == {f"tcp . {tcp.host_port}", f"udp . {published[1].host_port}"}
        with socket.socket() as holder:
            holder.bind(("0.0.0.0", 0))
            holder.listen(1)
            busy = holder.getsockname()[1]
            with pytest.raises(PortAllocated):
                await manager.publish("c2", [PortSpec(81), PortSpec(80, "tcp", "", busy)], IPv4Address("172.17.0.3"))
        assert manager.ports.published("c2") == []  # the first port of c2 was given back
        manager.unpublish("c1", IPv4Address("172.17.0.2"))
        assert _table(manager).ports() == set() and manager.ports.published("c1") == []


async def test_stale_links_go_but_bridges_and_kept_veths_stay(tmp_path: Path) -> None:
    async with running(fake_manager(tmp_path)) as manager:
        links = _links(manager)
        links.bridges["pyc0000br9"] = links.bridges["pyc0000br0"]
        links.veths["pyc0000vdead000"] = None  # type: ignore[assignment]
        links.veths["pyc0000vlive000"] = None  # type: ignore[assignment]
        removed = await manager.remove_stale_links(["pyc0000vlive000"])
        assert sorted(removed) == ["pyc0000br9", "pyc0000vdead000"]
        assert links.links("pyc0000") == ["pyc0000br0", "pyc0000vlive000"]
