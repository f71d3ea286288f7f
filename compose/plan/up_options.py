"""What `up` (and `create`, `run`'s dependencies) is asked for, and what was learnt before planning it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class UpOptions:
    services: tuple[str, ...] = ()  # named on the command line; empty means all
    no_deps: bool = False
    force_recreate: bool = False
    no_recreate: bool = False
    always_recreate_deps: bool = False
    renew_anon_volumes: bool = False  # -V
    scale: Mapping[str, int] = field(default_factory=dict)
    remove_orphans: bool = False
    no_start: bool = False
    timeout: int | None = None  # stop timeout, seconds
    wait: bool = False
    wait_timeout: float | None = None


@dataclass(frozen=True)
class UpFacts:
    """What was learnt beside the engine's containers, networks and volumes (not the user's choice)."""

    images: Mapping[str, str] = field(default_factory=dict)  # service -> id of the image it should run now
    known_services: frozenset[str] = frozenset()  # disabled by profiles: their containers are not orphans
