"""Connecting and disconnecting containers, running or not, and who is attached where.

A running container gets (or loses) a veth, an address and its DNS records
at once; a stopped one only has its NetworkSettings changed, for its next
start. Both hold the container's lock, as starts and stops do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.containers.network_state import ACTIVE, fill_settings, register_dns, write_files
from runtime.containers.networking import engine_error, networks_of
from runtime.containers.records import Record
from runtime.errors import EngineError, bad_request
from runtime.network.dual import allocate6, link_local
from runtime.network.endpoints import endpoint_settings, interface_names, mode_kind, random_mac
from runtime.network.errors import NetworkError
from runtime.network.manager import Attached, Attachment, NetworkManager, host_ifname, new_endpoint_id
from runtime.network.store import NetworkRecord

if TYPE_CHECKING:
    from runtime.containers.table import ContainerTable


def require(table: ContainerTable | None) -> tuple[ContainerTable, NetworkManager]:
    nets = networks_of(table) if table is not None else None
    if table is None or nets is None:
        raise EngineError(503, "networks are not available: the engine has no container or network manager")
    return table, nets


async def connect(containers: ContainerTable | None, network_ref: str, container_ref: str,
                  config: Mapping[str, Any] | None) -> NetworkRecord:
    table, nets = require(containers)
    try:
        network = nets.store.get(network_ref)
        record = table.records.get(container_ref)
        _check_connectable(record, network)
        live = table.live(record)
        async with live.lock:
            networks = record.network_settings.setdefault("Networks", {})
            if _key_of(networks, network) is not None:
                raise EngineError(403, f"endpoint with name {record.name} already exists in network {network.name}")
            endpoint = endpoint_settings(network, config, name=record.name, container_id=record.id)
            networks[network.name] = endpoint
            try:
                att = nets.attached.get(record.id)
                if att is not None and record.state.status in ACTIVE:
                    await _attach_one(table, nets, record, att, network, endpoint)
            except BaseException:
                networks.pop(network.name, None)
                raise
            table.records.save(record)
    except NetworkError as exc:
        raise engine_error(exc) from None
    table.events.emit("network", "connect", network.id, {"container": record.id, "name": network.name,
                                                           "type": network.driver})
    return network


def _check_connectable(record: Record, network: NetworkRecord) -> None:
    kind = mode_kind(str(record.host_config.get("NetworkMode") or ""))
    if network.driver in ("host", "null") or kind == "host":
        raise bad_request("container cannot be disconnected from host network or connected to host network")
    if kind == "none":
        raise bad_request("container cannot be connected to multiple networks with one of the networks in "
                          "private (none) mode")
    if kind == "container":
        raise bad_request("container sharing network namespace with another container or host cannot be "
                          "connected to any other network")


def _key_of(networks: Mapping[str, Any], network: NetworkRecord) -> str | None:
    for name, endpoint in networks.items():
        if name == network.name or (endpoint or {}).get("NetworkID") == network.id:
            return name
    return None


async def _attach_one(table: ContainerTable, nets: NetworkManager, record: Record, att: Attachment,
                      network: NetworkRecord, endpoint: dict[str, Any]) -> None:
    ifname = interface_names([endpoint], {a.ifname for a in att.endpoints.values()})[0]
    endpoint_id = new_endpoint_id()
    ipam = endpoint.get("IPAMConfig") or {}
    address = nets.allocate(network, endpoint_id, str(ipam.get("IPv4Address") or ""))
    try:
        address6 = allocate6(network, endpoint_id, str(ipam.get("IPv6Address") or ""))
    except BaseException:
        nets.release(network.id, endpoint_id)
        raise
    # As Docker: a container left without a way out (all its networks internal, or the one that had the
    # default route disconnected) gets it through the first outward network connected.
    route = not network.internal and not any(e.default_route for e in att.endpoints.values())
    a = Attached(network.id, endpoint_id, host_ifname(nets.prefix, endpoint_id), ifname,
                 str(endpoint.get("MacAddress") or random_mac()), address, route, address6,
                 link_local(ipam.get("LinkLocalIPs") or ()))
    try:
        await nets.plug(att.pid, [a])
    except BaseException:
        nets.release(network.id, endpoint_id)
        raise
    att.endpoints[network.id] = a
    register_dns(table, nets, record, att)
    fill_settings(nets, record, att)
    await write_files(table, nets, record, att)


async def disconnect(containers: ContainerTable | None, network_ref: str, container_ref: str,
                     force: bool) -> NetworkRecord:
    table, nets = require(containers)
    try:
        network = nets.store.get(network_ref)
        record = table.records.get(container_ref)
        if network.driver in ("host", "null"):
            raise bad_request("container cannot be disconnected from host network or connected to host network")
        live = table.live(record)
        async with live.lock:
            networks = record.network_settings.get("Networks") or {}
            key = _key_of(networks, network)
            if key is None:
                raise EngineError(403, f"container {record.id} is not connected to network {network.name}")
            att = nets.attached.get(record.id)
            a = att.endpoints.pop(network.id, None) if att is not None else None
            if att is not None and a is not None:
                nets.records.remove(record.id, network.name)
                if att.container_ip == a.address.ip:
                    nets.unpublish(record.id, att.container_ip, att.container_ip6)
                    att.published, att.container_ip, att.container_ip6 = [], None, None
                nets.release(network.id, a.endpoint_id)
                await nets.unplug([a.host_ifname])
                if a.default_route and record.state.status in ACTIVE:
                    await _move_default_route(nets, att)
            del networks[key]
            if att is not None and record.state.status in ACTIVE:
                fill_settings(nets, record, att)
                await write_files(table, nets, record, att)
            table.records.save(record)
    except NetworkError as exc:
        raise engine_error(exc) from None
    table.events.emit("network", "disconnect", network.id, {"container": record.id, "name": network.name,
                                                              "type": network.driver})
    return network


async def _move_default_route(nets: NetworkManager, att: Attachment) -> None:
    """The default route went with a disconnected endpoint: give it to the next outward network, as Docker."""
    for network_id, other in att.endpoints.items():
        if not nets.store.get(network_id).internal:
            moved = dataclasses.replace(other, default_route=True)
            await nets.route_through(att.pid, moved)
            att.endpoints[network_id] = moved
            return


def endpoints_in_use(table: ContainerTable | None) -> dict[str, list[tuple[Record, dict[str, Any]]]]:
    """network id -> (container, EndpointSettings) of the running containers attached to it."""
    out: dict[str, list[tuple[Record, dict[str, Any]]]] = {}
    if table is None:
        return out
    for record in table.records:
        if record.state.status not in ACTIVE:
            continue
        for endpoint in (record.network_settings.get("Networks") or {}).values():
            if endpoint and endpoint.get("EndpointID") and endpoint.get("NetworkID"):
                out.setdefault(str(endpoint["NetworkID"]), []).append((record, endpoint))
    return out
