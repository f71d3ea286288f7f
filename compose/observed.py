"""What the engine has: a project's containers, networks and volumes, read from API JSON.

Pure parsing of the Docker Engine API shapes: `GET /containers/json?all=1`
(summaries) or `GET /containers/{id}/json` (inspect) for containers,
`GET /networks` and `GET /volumes` for the rest. Networks and volumes are
kept whatever their labels, by name, because the project may name external
or pre-existing ones; pass the unfiltered lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, ClassVar

from compose import labels as L

_EXITED = re.compile(r"^Exited \((-?\d+)\)")
_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")
# Go prints nanoseconds, which datetime cannot hold: the fraction is taken apart.
_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|z|[+-]\d\d:\d\d)$")


@dataclass(frozen=True)
class ObservedMount:
    type: str
    destination: str
    name: str | None = None  # volume name, for type volume
    source: str | None = None
    rw: bool = True


@dataclass(frozen=True)
class ObservedContainer:
    id: str
    name: str
    service: str | None
    number: int | None
    config_hash: str | None
    image: str
    image_id: str
    state: str  # created, running, paused, restarting, removing, exited, dead
    exit_code: int | None = None
    health: str | None = None  # None (no healthcheck), starting, healthy, unhealthy
    oneoff: bool = False
    labels: Mapping[str, str] = field(default_factory=dict, repr=False)
    networks: tuple[str, ...] = ()  # names of the networks it is connected to
    network_mode: str | None = None
    mounts: tuple[ObservedMount, ...] = ()
    created: float = 0.0

    @property
    def project(self) -> str | None:
        return self.labels.get(L.PROJECT)

    @property
    def running(self) -> bool:
        return self.state in ("running", "restarting", "paused")


class _ProjectResource:
    """What compose's labels on a network or volume say: its project, its key there, its config hash."""

    labels: Mapping[str, str]
    KEY_LABEL: ClassVar[str]

    @property
    def project(self) -> str | None:
        return self.labels.get(L.PROJECT)

    @property
    def key(self) -> str | None:
        return self.labels.get(self.KEY_LABEL)

    @property
    def config_hash(self) -> str | None:
        return self.labels.get(L.CONFIG_HASH)


@dataclass(frozen=True)
class ObservedNetwork(_ProjectResource):
    KEY_LABEL: ClassVar[str] = L.NETWORK

    id: str
    name: str
    driver: str = ""
    labels: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class ObservedVolume(_ProjectResource):
    KEY_LABEL: ClassVar[str] = L.VOLUME

    name: str
    driver: str = "local"
    labels: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class ObservedState:
    project: str
    containers: tuple[ObservedContainer, ...] = ()
    networks: Mapping[str, ObservedNetwork] = field(default_factory=dict)  # by name
    volumes: Mapping[str, ObservedVolume] = field(default_factory=dict)  # by name

    def service_containers(self, service: str, oneoff: bool = False) -> list[ObservedContainer]:
        """The service's containers, lowest number first."""
        return list(self._by_service.get((service, oneoff), ()))

    @cached_property
    def _by_service(self) -> dict[tuple[str | None, bool], list[ObservedContainer]]:
        out: dict[tuple[str | None, bool], list[ObservedContainer]] = {}
        for c in sorted(self.containers, key=lambda c: (c.number is None, c.number or 0, c.created, c.name)):
            out.setdefault((c.service, c.oneoff), []).append(c)
        return out

    def orphans(self, services: Iterable[str]) -> list[ObservedContainer]:
        """Service containers of this project whose service the project no longer has."""
        known = set(services)
        return sorted((c for c in self.containers if not c.oneoff and c.service not in known), key=lambda c: c.name)

    def container(self, ref: str) -> ObservedContainer | None:
        """By id, id prefix or name."""
        for c in self.containers:
            if c.id == ref or c.name == ref or (len(ref) >= 12 and c.id.startswith(ref)):
                return c
        return None


def _labels(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()} if isinstance(value, Mapping) else {}


def _number(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _mounts(items: Any) -> tuple[ObservedMount, ...]:
    out = []
    for m in items or ():
        if isinstance(m, Mapping) and m.get("Destination"):
            out.append(ObservedMount(str(m.get("Type") or "volume"), str(m["Destination"]), m.get("Name") or None,
                                     m.get("Source") or None, bool(m.get("RW", True))))
    return tuple(out)


def _networks(doc: Mapping[str, Any]) -> tuple[str, ...]:
    networks = (doc.get("NetworkSettings") or {}).get("Networks") or {}
    return tuple(sorted(networks)) if isinstance(networks, Mapping) else ()


def _status_health(status: str) -> str | None:
    match = _HEALTH.search(status)
    if not match:
        return None
    return "starting" if match.group(1) == "health: starting" else match.group(1)


def container_from_api(doc: Mapping[str, Any]) -> ObservedContainer:
    """One container from a list summary (`Names`, `State` text) or an inspect answer (`Name`, `State` object)."""
    state = doc.get("State")
    if isinstance(state, Mapping):
        config = doc.get("Config") or {}
        lbls = _labels(config.get("Labels"))
        name = str(doc.get("Name") or "").lstrip("/")
        status = str(state.get("Status") or "created")
        exit_code = state.get("ExitCode")
        health = (state.get("Health") or {}).get("Status") or None
        image, image_id = str(config.get("Image") or ""), str(doc.get("Image") or "")
        created = _timestamp(doc.get("Created"))
        if status not in ("exited", "dead"):
            exit_code = None
    else:
        lbls = _labels(doc.get("Labels"))
        names = doc.get("Names") or []
        name = str(names[0] if names else "").lstrip("/")
        status = str(state or "created")
        text = str(doc.get("Status") or "")
        match = _EXITED.match(text)
        exit_code = int(match.group(1)) if match else None
        health = _status_health(text)
        image, image_id = str(doc.get("Image") or ""), str(doc.get("ImageID") or "")
        created = float(doc.get("Created") or 0)
    return ObservedContainer(
        id=str(doc.get("Id") or ""),
        name=name,
        service=lbls.get(L.SERVICE),
        number=_number(lbls.get(L.NUMBER)),
        config_hash=lbls.get(L.CONFIG_HASH),
        image=image,
        image_id=image_id,
        state=status,
        exit_code=int(exit_code) if exit_code is not None else None,
        health=str(health) if health else None,
        oneoff=lbls.get(L.ONEOFF, "False").lower() == "true",
        labels=lbls,
        networks=_networks(doc),
        network_mode=(doc.get("HostConfig") or {}).get("NetworkMode") or None,
        mounts=_mounts(doc.get("Mounts")),
        created=created,
    )


def _timestamp(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    return parse_time(value) or 0.0


def parse_time(value: Any) -> float | None:
    """Seconds since the epoch from Docker's RFC 3339 times; None for the zero time or junk."""
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    match = _RFC3339.match(value)
    if not match:
        return None
    base, fraction, zone = match.groups()
    try:
        stamp = datetime.fromisoformat(base + ("+00:00" if zone in ("Z", "z") else zone))
    except ValueError:
        return None
    return stamp.timestamp() + (float("0" + fraction) if fraction else 0.0)


def network_from_api(doc: Mapping[str, Any]) -> ObservedNetwork:
    return ObservedNetwork(str(doc.get("Id") or doc.get("ID") or ""), str(doc.get("Name") or ""),
                           str(doc.get("Driver") or ""), _labels(doc.get("Labels")))


def volume_from_api(doc: Mapping[str, Any]) -> ObservedVolume:
    return ObservedVolume(str(doc.get("Name") or ""), str(doc.get("Driver") or "local"), _labels(doc.get("Labels")))


def observed_state(
    project: str,
    containers: Sequence[Mapping[str, Any]] = (),
    networks: Sequence[Mapping[str, Any]] = (),
    volumes: Sequence[Mapping[str, Any]] | Mapping[str, Any] = (),
) -> ObservedState:
    """The state from the three list answers; containers of other projects are dropped."""
    parsed = tuple(c for c in map(container_from_api, containers) if c.project == project)
    if isinstance(volumes, Mapping):  # GET /volumes answers {"Volumes": [...], "Warnings": [...]}
        volumes = volumes.get("Volumes") or []
    nets = {n.name: n for n in map(network_from_api, networks)}
    vols = {v.name: v for v in map(volume_from_api, volumes)}
    return ObservedState(project, parsed, nets, vols)
