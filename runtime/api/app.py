"""The engine's API application: every route table behind one router."""

from __future__ import annotations

from runtime.api import (
    routes_build,
    routes_containers,
    routes_events,
    routes_exec,
    routes_images,
    routes_networks,
    routes_registry,
    routes_snapshot,
    routes_stats,
    routes_swarm,
    routes_system,
    routes_volumes,
)
from runtime.api.decode import Decoder
from runtime.api.router import Route, Router
from runtime.engine import Engine


def all_routes() -> tuple[Route[Engine], ...]:
    return (*routes_system.ROUTES, *routes_images.ROUTES, *routes_containers.ROUTES, *routes_exec.ROUTES,
            *routes_events.ROUTES, *routes_volumes.ROUTES, *routes_networks.ROUTES, *routes_registry.ROUTES,
            *routes_stats.ROUTES, *routes_snapshot.ROUTES, *routes_swarm.ROUTES, *routes_build.ROUTES)


def build_app(engine: Engine) -> Router[Engine]:
    routes = all_routes()
    return Router(engine, routes, routes_system.common_headers(routes_system.server_version()), Decoder.load())
