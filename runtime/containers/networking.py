"""Containers on networks: when a container's life cycle touches the network manager.

- create: `plan` reads the request's networks (NetworkMode, EndpointsConfig)
  into the record's NetworkSettings (create.py writes the files);
- start: `start_spec` points a `container:<ref>` container at its peer's
  netns; `up` runs between the supervisor's create (PID 1 waits at its gate,
  its netns exists) and the gate's release: addresses, published ports
  (checked first: a taken port fails the start with nothing left over),
  veths, DNS records, /etc/hosts and resolv.conf;
- exit: `down`, synchronous so a restart never races the previous run's
  teardown (the veths die with the netns; leftovers go in a worker thread);
- `restore` at boot after the containers were re-adopted (kill -9 of the
  engine). Connect/disconnect are in network_connect.py, what a running
  container shows and sees (settings, DNS records, files) in network_state.py.

The container's endpoints live in `record.network_settings["Networks"]`;
what a running container holds in the kernel is the network manager's
`attached[container id]`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from runtime.containers.network_state import ACTIVE, copy_peer_files, fill_settings, register_dns, write_files
from runtime.containers.records import Record
from runtime.errors import EngineError, conflict
from runtime.network.dual import allocate6, link_local
from runtime.network.endpoints import (
    CreatePlan,
    Peer,
    interface_names,
    mode_kind,
    ordered_endpoints,
    plan_create,
    port_specs,
    published_from_json,
    random_mac,
)
from runtime.network.errors import NetworkError, PortAllocated
from runtime.network.manager import Attached, Attachment, NetworkManager, host_ifname, new_endpoint_id
from runtime.network.store import NetworkRecord, NoSuchNetwork
from runtime.spec import ContainerSpec

if TYPE_CHECKING:
    from runtime.containers.table import ContainerTable

log = logging.getLogger("pycompose.network")


def networks_of(table: ContainerTable) -> NetworkManager | None:
    return table.networks


def engine_error(exc: NetworkError) -> EngineError:
    return EngineError(exc.status, exc.message)


def start_error(exc: Exception) -> EngineError:
    """What a client hears of a start whose networking failed."""
    if isinstance(exc, EngineError):
        return exc
    return EngineError(500, f"failed to set up container networking: {exc}")


def _mode(record: Record) -> str:
    return str(record.host_config.get("NetworkMode") or "")


# -- create ----------------------------------------------------------------------------------------


def plan(table: ContainerTable, body: Mapping[str, Any], name: str, container_id: str) -> CreatePlan | None:
    """The networks of a create request (None without a network manager: bridge behaves like none)."""
    nets = networks_of(table)
    if nets is None:
        return None

    def find_peer(ref: str) -> Peer:
        peer = table.records.get(ref)
        return Peer(peer.id, str(peer.config.get("Hostname") or ""), str(peer.config.get("Domainname") or ""))

    try:
        return plan_create(body, name=name, container_id=container_id, find_network=nets.store.get,
                           default=nets.store.default(), find_peer=find_peer)
    except NetworkError as exc:
        raise engine_error(exc) from None


# -- start -----------------------------------------------------------------------------------------


def start_spec(table: ContainerTable, record: Record, spec: ContainerSpec) -> ContainerSpec:
    """`container:<ref>`: join the peer's netns, which must be running now."""
    mode = _mode(record)
    if not mode.startswith("container:"):
        return spec
    peer = table.records.get(mode.split(":", 1)[1])
    if peer.state.status not in ACTIVE or not peer.state.pid:
        raise conflict(f"cannot join network of a non running container: {peer.id}")
    joins = (*(j for j in spec.join_namespaces if j[0] != "net"), ("net", f"/proc/{peer.state.pid}/ns/net"))
    return dataclasses.replace(spec, join_namespaces=joins)


async def up(table: ContainerTable, record: Record, pid: int) -> None:
    """The container's networking, before its gate opens; on failure nothing is left and the error says why."""
    kind = mode_kind(_mode(record))
    if kind == "container":
        await anyio.to_thread.run_sync(copy_peer_files, table, record)
        return
    nets = networks_of(table)
    if nets is None:
        return
    if kind in ("host", "none"):
        _predefined_endpoint(record, new_endpoint_id())  # dockerd gives host and none endpoints too
    if kind == "host":
        return
    try:
        if kind == "none":
            await nets.loopback_up(pid)
            return
        await nets.restored.wait()
        old = nets.attached.get(record.id)
        if old is not None:
            down(table, record, old.pid)
        await _up_bridge(table, nets, record, pid)
    except PortAllocated as exc:
        raise EngineError(500, f"driver failed programming external connectivity on endpoint {record.name}: "
                               f"{exc.message}") from None
    except NetworkError as exc:
        raise engine_error(exc) from None


async def _up_bridge(table: ContainerTable, nets: NetworkManager, record: Record, pid: int) -> None:
    entries = ordered_endpoints(record.network_settings)
    networks = [_network_of(nets, name, ep) for name, ep in entries]
    ifnames = interface_names([ep for _, ep in entries])
    route_at = next((i for i, n in enumerate(networks) if not n.internal), None)
    att = Attachment(pid)
    nets.attached[record.id] = att
    try:
        for i, ((_, ep), network) in enumerate(zip(entries, networks, strict=True)):
            endpoint_id = new_endpoint_id()
            ipam = ep.get("IPAMConfig") or {}
            address = nets.allocate(network, endpoint_id, str(ipam.get("IPv4Address") or ""))
            address6 = allocate6(network, endpoint_id, str(ipam.get("IPv6Address") or ""))
            att.endpoints[network.id] = Attached(network.id, endpoint_id, host_ifname(nets.prefix, endpoint_id),
                                                 ifnames[i], str(ep.get("MacAddress") or random_mac()), address,
                                                 i == route_at, address6, link_local(ipam.get("LinkLocalIPs") or ()))
        if att.endpoints:
            first = next(iter(att.endpoints.values()))
            att.container_ip = first.address.ip
            att.container_ip6 = first.address6.ip if first.address6 is not None else None
            binding = networks[0].bridge_options().host_binding_ipv4
            specs = port_specs(record.config, record.host_config, binding)
            att.published = await nets.publish(record.id, specs, att.container_ip, container_ip6=att.container_ip6)
        await nets.plug(pid, list(att.endpoints.values()))
        register_dns(table, nets, record, att)
        fill_settings(nets, record, att)
        await write_files(table, nets, record, att)
    except BaseException:
        down(table, record, pid)
        raise


def _predefined_endpoint(record: Record, endpoint_id: str) -> None:
    for endpoint in (record.network_settings.get("Networks") or {}).values():
        endpoint["EndpointID"] = endpoint_id


def _network_of(nets: NetworkManager, name: str, endpoint: Mapping[str, Any]) -> NetworkRecord:
    network = nets.store.find(str(endpoint.get("NetworkID") or "")) or nets.store.find(name)
    if network is None:
        raise NoSuchNetwork(name)
    return network


# -- exit ------------------------------------------------------------------------------------------


def down(table: ContainerTable, record: Record, pid: int = 0) -> None:
    """Undo `up` for the run with PID 1 `pid` (0: whatever runs): ports, DNS, addresses, settings, veths.

    The caller saves the record."""
    nets = networks_of(table)
    if nets is None:
        return
    att = nets.attached.get(record.id)
    if mode_kind(_mode(record)) in ("host", "none"):
        _predefined_endpoint(record, "")
    if att is None or (pid and att.pid != pid):
        return
    del nets.attached[record.id]
    nets.unpublish(record.id, att.container_ip, att.container_ip6)
    nets.records.remove(record.id)
    for a in att.endpoints.values():
        nets.release(a.network_id, a.endpoint_id)
    clear_settings(record)
    names = [a.host_ifname for a in att.endpoints.values()]
    if names:
        nets.unplugging[record.id] = names
        with contextlib.suppress(AssertionError, RuntimeError):
            table.spawn(_unplug_later, nets, record.id, names)


async def _unplug_later(nets: NetworkManager, container_id: str, names: list[str]) -> None:
    await nets.unplug(names)
    if nets.unplugging.get(container_id) is names:
        del nets.unplugging[container_id]


async def removed(table: ContainerTable, record: Record) -> None:
    """A container is gone: whatever it still held goes, and its veths are gone when this returns."""
    nets = networks_of(table)
    if nets is None:
        return
    down(table, record)
    names = nets.unplugging.pop(record.id, None)
    if names:
        await nets.unplug(names)


def renamed(table: ContainerTable, record: Record) -> None:
    """DNS answers the new name at once (Docker does too)."""
    nets = networks_of(table)
    att = nets.attached.get(record.id) if nets is not None else None
    if nets is None or att is None:
        return
    nets.records.remove(record.id)
    register_dns(table, nets, record, att)
    fill_settings(nets, record, att)


def clear_settings(record: Record) -> None:
    """A stopped container's NetworkSettings: no addresses, no ports; aliases, static IPs and MACs stay."""
    settings = record.network_settings
    for endpoint in (settings.get("Networks") or {}).values():
        endpoint.update({"EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
                         "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0})
    settings.update({"Ports": {}, "SandboxKey": "", "SandboxID": "", "EndpointID": "", "Gateway": "",
                     "IPAddress": "", "IPPrefixLen": 0, "MacAddress": "", "Bridge": "", "IPv6Gateway": "",
                     "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0})


# -- engine restart --------------------------------------------------------------------------------


async def restore(table: ContainerTable) -> None:
    """After re-adoption: what running containers hold comes back (addresses, ports, DNS), the rest goes.

    Starts wait for it (`nets.restored`): a restart policy applied at boot
    must not have its fresh endpoints counted as stale."""
    nets = networks_of(table)
    if nets is None:
        return
    try:
        for record in table.records:
            if mode_kind(_mode(record)) == "bridge":
                await _restore_one(table, nets, record)
        attached = [a for att in nets.attached.values() for a in att.endpoints.values()]
        nets.reconcile_pools({a.endpoint_id for a in attached})
        removed = await nets.remove_stale_links([a.host_ifname for a in attached])
        if removed:
            log.info("removed stale links: %s", ", ".join(removed))
    finally:
        nets.restored.set()


async def _restore_one(table: ContainerTable, nets: NetworkManager, record: Record) -> None:
    if record.state.status not in ACTIVE or not record.state.pid:
        if any(ep.get("IPAddress") for ep in (record.network_settings.get("Networks") or {}).values()):
            clear_settings(record)
            table.records.save(record)
        return
    att = _readopt(nets, record)
    if att.container_ip is not None:
        for published in published_from_json(record.network_settings.get("Ports") or {}):
            try:
                att.published += await nets.publish(record.id, [], att.container_ip, exact=[published],
                                                    container_ip6=att.container_ip6)
            except NetworkError as exc:
                log.warning("port %s of %s not published again: %s", published.key, record.name, exc)
    register_dns(table, nets, record, att)


def _readopt(nets: NetworkManager, record: Record) -> Attachment:
    att = Attachment(record.state.pid)
    entries = ordered_endpoints(record.network_settings)
    ifnames = interface_names([ep for _, ep in entries])
    for i, (name, endpoint) in enumerate(entries):
        network = nets.store.find(str(endpoint.get("NetworkID") or "")) or nets.store.find(name)
        address, endpoint_id = str(endpoint.get("IPAddress") or ""), str(endpoint.get("EndpointID") or "")
        if network is None or network.pool is None or not address or not endpoint_id:
            continue
        interface = nets.allocate(network, endpoint_id, held=address)
        held6 = str(endpoint.get("GlobalIPv6Address") or "")
        interface6 = allocate6(network, endpoint_id, held=held6) if held6 else None
        att.endpoints[network.id] = Attached(network.id, endpoint_id, host_ifname(nets.prefix, endpoint_id),
                                             ifnames[i], str(endpoint.get("MacAddress") or ""), interface, False,
                                             interface6)
    if att.endpoints:
        first = next(iter(att.endpoints.values()))
        att.container_ip = first.address.ip
        att.container_ip6 = first.address6.ip if first.address6 is not None else None
    nets.attached[record.id] = att
    return att
