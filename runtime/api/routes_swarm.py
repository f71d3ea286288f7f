"""Swarm, node, service, task, secret, config and plugin routes: a dockerd outside any swarm.

This engine is never part of a swarm and runs no managed plugins, so it answers every one
of these routes as a dockerd that is not in a swarm and has no plugin installed answers
them: 503 "This node is not part of a swarm" to leave, 503 "not a swarm manager" to the
manager's routes (moby's daemon/cluster errNoSwarm and errNoManager), an empty plugin list,
and 404 `plugin "x" not found` for a named plugin. Clients rely on these: docker-py's
`leave_swarm(force=True)` treats the first as done, the docker CLI prints the second.
Creating or joining a swarm, and installing a plugin, are refused with 503/501: the
engine cannot be a swarm node nor run a plugin.
"""

from __future__ import annotations

from runtime.api.http import Request, Response, json_response
from runtime.api.router import Route
from runtime.engine import Engine
from runtime.errors import EngineError, not_found, not_implemented

NOT_IN_SWARM = "This node is not part of a swarm"
NOT_A_MANAGER = ('This node is not a swarm manager. Use "docker swarm init" or '
                 '"docker swarm join" to connect this node to swarm and try again.')
NO_SWARM_MODE = "This engine does not support swarm mode: it cannot init or join a swarm"
NO_PLUGINS = "This engine does not support managed plugins"


async def not_in_swarm(engine: Engine, request: Request) -> Response:
    raise EngineError(503, NOT_IN_SWARM)


async def not_a_manager(engine: Engine, request: Request) -> Response:
    raise EngineError(503, NOT_A_MANAGER)


async def no_swarm_mode(engine: Engine, request: Request) -> Response:
    raise EngineError(503, NO_SWARM_MODE)


async def list_plugins(engine: Engine, request: Request) -> Response:
    return json_response([])


async def no_such_plugin(engine: Engine, request: Request) -> Response:
    raise not_found(f'plugin "{request.params["name"]}" not found')


async def no_plugins(engine: Engine, request: Request) -> Response:
    raise not_implemented(NO_PLUGINS)


_MANAGER_ROUTES = (
    ("GET", "/swarm"), ("POST", "/swarm/update"), ("GET", "/swarm/unlockkey"), ("POST", "/swarm/unlock"),
    ("GET", "/nodes"), ("GET", "/nodes/{id}"), ("DELETE", "/nodes/{id}"), ("POST", "/nodes/{id}/update"),
    ("GET", "/services"), ("POST", "/services/create"), ("GET", "/services/{id}"),
    ("DELETE", "/services/{id}"), ("POST", "/services/{id}/update"), ("GET", "/services/{id}/logs"),
    ("GET", "/tasks"), ("GET", "/tasks/{id}"), ("GET", "/tasks/{id}/logs"),
    ("GET", "/secrets"), ("POST", "/secrets/create"), ("GET", "/secrets/{id}"),
    ("DELETE", "/secrets/{id}"), ("POST", "/secrets/{id}/update"),
    ("GET", "/configs"), ("POST", "/configs/create"), ("GET", "/configs/{id}"),
    ("DELETE", "/configs/{id}"), ("POST", "/configs/{id}/update"),
)
_NAMED_PLUGIN_ROUTES = (
    ("GET", "/plugins/{name}/json"), ("DELETE", "/plugins/{name}"), ("POST", "/plugins/{name}/enable"),
    ("POST", "/plugins/{name}/disable"), ("POST", "/plugins/{name}/upgrade"),
    ("POST", "/plugins/{name}/push"), ("POST", "/plugins/{name}/set"),
)

ROUTES: tuple[Route[Engine], ...] = (
    Route("POST", "/swarm/leave", not_in_swarm),
    Route("POST", "/swarm/init", no_swarm_mode),
    Route("POST", "/swarm/join", no_swarm_mode),
    *(Route(method, path, not_a_manager) for method, path in _MANAGER_ROUTES),
    Route("GET", "/plugins", list_plugins),
    Route("GET", "/plugins/privileges", no_plugins),
    Route("POST", "/plugins/pull", no_plugins),
    Route("POST", "/plugins/create", no_plugins),
    *(Route(method, path, no_such_plugin) for method, path in _NAMED_PLUGIN_ROUTES),
)
