"""Network routes: list, inspect, create, remove, connect, disconnect, prune.

Handlers read the engine's network manager (`engine.networks`) and, for
who is attached where, the container records (`engine.containers`);
network errors are EngineErrors with Docker's status codes, rendered as they come.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.api.errors import EngineError, bad_request
from runtime.api.http import Request, Response, empty_response, json_response
from runtime.api.router import Route
from runtime.containers import network_connect
from runtime.containers.logs_read import parse_time_ns
from runtime.engine import Engine
from runtime.network import docker_json

if TYPE_CHECKING:
    from runtime.containers.table import ContainerTable
    from runtime.network.manager import NetworkManager
    from runtime.network.store import NetworkRecord


def networks_of(engine: Engine) -> NetworkManager:
    networks = engine.networks
    if networks is None:
        raise EngineError(503, "networks are not available: the engine's network manager is not running")
    return networks


def _get(engine: Engine, ref: str) -> NetworkRecord:
    return networks_of(engine).store.get(ref)


def _containers(engine: Engine) -> ContainerTable | None:
    return engine.containers.table if engine.containers is not None else None


def _emit(engine: Engine, action: str, network: NetworkRecord) -> None:
    if engine.containers is not None:
        engine.containers.table.events.emit("network", action, network.id, {"name": network.name,
                                                                      "type": network.driver})


async def list_networks(engine: Engine, request: Request) -> Response:
    nets = networks_of(engine)
    filters = request.filters()
    docker_json.check_filters(filters, docker_json.LIST_FILTERS)
    in_use = network_connect.endpoints_in_use(_containers(engine))
    return json_response([docker_json.network_json(n) for n in sorted(nets.store, key=lambda n: n.created)
                          if docker_json.matches(n, filters, in_use)])


async def inspect_network(engine: Engine, request: Request) -> Response:
    network = _get(engine, request.params["id"])
    attached = network_connect.endpoints_in_use(_containers(engine)).get(network.id, [])
    containers = {record.id: docker_json.network_container(record.name, endpoint) for record, endpoint in attached}
    return json_response(docker_json.network_json(network, containers))


async def create_network(engine: Engine, request: Request) -> Response:
    body = await request.json()
    if not isinstance(body, dict):
        raise bad_request("invalid network configuration: expected a JSON object")
    nets = networks_of(engine)
    network = await nets.create(body)
    _emit(engine, "create", network)
    return json_response({"Id": network.id, "Warning": ""}, 201)


async def remove_network(engine: Engine, request: Request) -> Response:
    network = _get(engine, request.params["id"])
    await _remove(engine, network)
    return empty_response(204)


async def _remove(engine: Engine, network: NetworkRecord) -> None:
    if network_connect.endpoints_in_use(_containers(engine)).get(network.id):
        raise EngineError(403, f"error while removing network: network {network.name} id {network.id} has "
                               "active endpoints")
    nets = networks_of(engine)
    await nets.remove(network)
    _emit(engine, "destroy", network)


def _container(body: Mapping[str, Any]) -> str:
    """The `Container` of a connect or disconnect body, which both require."""
    container = str(body.get("Container") or "")
    if not container:
        raise bad_request("a container is required")
    return container


async def connect_network(engine: Engine, request: Request) -> Response:
    body = await _body(request)
    await network_connect.connect(_containers(engine), request.params["id"], _container(body),
                                  body.get("EndpointConfig"))
    return empty_response(200)


async def disconnect_network(engine: Engine, request: Request) -> Response:
    body = await _body(request)
    await network_connect.disconnect(_containers(engine), request.params["id"], _container(body),
                                     bool(body.get("Force")))
    return empty_response(200)


async def _body(request: Request) -> dict[str, Any]:
    body = await request.json()
    if not isinstance(body, dict):
        raise bad_request("expected a JSON object")
    return body


async def prune_networks(engine: Engine, request: Request) -> Response:
    nets = networks_of(engine)
    filters = request.filters()
    docker_json.check_filters(filters, docker_json.PRUNE_FILTERS)
    in_use = network_connect.endpoints_in_use(_containers(engine))
    now = time.time()
    doomed = [n for n in nets.store if docker_json.prunable(n, filters, in_use, parse_time_ns(n.created) / 1e9, now)]
    deleted = []
    for network in doomed:
        try:
            await _remove(engine, network)
        except EngineError:
            continue
        deleted.append(network.name)
    if engine.containers is not None:
        engine.containers.table.events.emit("network", "prune", "", {"reclaimed": "0"})
    return json_response({"NetworksDeleted": deleted or None})


ROUTES: tuple[Route[Engine], ...] = (
    Route("GET", "/networks", list_networks),
    Route("POST", "/networks/create", create_network),
    Route("POST", "/networks/prune", prune_networks),
    Route("GET", "/networks/{id}", inspect_network),
    Route("DELETE", "/networks/{id}", remove_network),
    Route("POST", "/networks/{id}/connect", connect_network),
    Route("POST", "/networks/{id}/disconnect", disconnect_network),
)
