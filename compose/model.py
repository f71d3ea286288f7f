"""The compose project as frozen dataclasses, built from the normalized document.

Fields the orchestrator reads are typed; every service keeps its whole
normalized mapping in `config` so nothing the user wrote is lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from compose.loader.marks import plain


@dataclass(frozen=True)
class Port:
    target: int
    published: str | None = None
    host_ip: str | None = None
    protocol: str = "tcp"
    mode: str = "ingress"


@dataclass(frozen=True)
class Mount:
    type: str
    target: str
    source: str | None = None
    read_only: bool = False


@dataclass(frozen=True)
class Dependency:
    condition: str = "service_started"
    required: bool = True
    restart: bool = False


@dataclass(frozen=True)
class Healthcheck:
    test: tuple[str, ...] = ()
    interval: str | None = None
    timeout: str | None = None
    retries: int | None = None
    start_period: str | None = None
    start_interval: str | None = None
    disable: bool = False


@dataclass(frozen=True)
class Service:
    name: str
    image: str | None
    build: Mapping[str, Any] | None
    command: tuple[str, ...] | None
    entrypoint: tuple[str, ...] | None
    environment: Mapping[str, str | None]
    labels: Mapping[str, str]
    ports: tuple[Port, ...]
    volumes: tuple[Mount, ...]
    depends_on: Mapping[str, Dependency]
    networks: Mapping[str, Mapping[str, Any] | None]
    network_mode: str | None
    healthcheck: Healthcheck | None
    restart: str | None
    profiles: tuple[str, ...]
    scale: int
    config: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Resource:
    """A top-level network, volume, secret or config."""

    key: str
    name: str
    external: bool
    config: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Project:
    name: str
    working_dir: Path
    config_files: tuple[str, ...]
    profiles: tuple[str, ...]
    services: Mapping[str, Service]
    networks: Mapping[str, Resource]
    volumes: Mapping[str, Resource]
    secrets: Mapping[str, Resource]
    configs: Mapping[str, Resource]
    # The project's variables (process environment and .env): `environment:` secrets and configs read them.
    environment: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False)

    def images(self) -> list[str]:
        """Image of each service; a service with only `build` gets compose's default name."""
        return [svc.image or f"{self.name}-{svc.name}" for svc in self.services.values()]


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


def _service(name: str, raw: Mapping[str, Any]) -> Service:
    deploy = raw.get("deploy") or {}
    scale = raw.get("scale", deploy.get("replicas", 1))
    hc = raw.get("healthcheck")
    return Service(
        name=name,
        image=raw.get("image"),
        build=_frozen(raw["build"]) if raw.get("build") else None,
        command=tuple(raw["command"]) if raw.get("command") is not None else None,
        entrypoint=tuple(raw["entrypoint"]) if raw.get("entrypoint") is not None else None,
        environment=_frozen(raw.get("environment") or {}),
        labels=_frozen(raw.get("labels") or {}),
        ports=tuple(
            Port(int(p["target"]), p.get("published"), p.get("host_ip"), p.get("protocol", "tcp"),
                 p.get("mode", "ingress"))
            for p in raw.get("ports") or ()
        ),
        volumes=tuple(
            Mount(v["type"], v["target"], v.get("source"), bool(v.get("read_only", False)))
            for v in raw.get("volumes") or ()
        ),
        depends_on=_frozen({
            dep: Dependency(d.get("condition", "service_started"), bool(d.get("required", True)),
                            bool(d.get("restart", False)))
            for dep, d in (raw.get("depends_on") or {}).items()
        }),
        networks=_frozen(raw.get("networks") or {}),
        network_mode=raw.get("network_mode"),
        healthcheck=Healthcheck(
            test=tuple(hc.get("test") or ()),
            interval=hc.get("interval"),
            timeout=hc.get("timeout"),
            retries=hc.get("retries"),
            start_period=hc.get("start_period"),
            start_interval=hc.get("start_interval"),
            disable=bool(hc.get("disable", False)),
        ) if isinstance(hc, Mapping) else None,
        restart=raw.get("restart"),
        profiles=tuple(raw.get("profiles") or ()),
        scale=int(scale) if scale is not None else 1,
        config=_frozen(raw),
    )


def _resources(section: Mapping[str, Any] | None) -> Mapping[str, Resource]:
    return _frozen({
        key: Resource(key, str((raw or {}).get("name", key)), bool((raw or {}).get("external", False)),
                      _frozen(raw or {}))
        for key, raw in (section or {}).items()
    })


def project_from_doc(doc: Mapping[str, Any], working_dir: Path, config_files: tuple[str, ...],
                     profiles: tuple[str, ...], environment: Mapping[str, str] | None = None) -> Project:
    """Build the model from a normalized document (positions dropped)."""
    data = plain(doc)
    return Project(
        name=data["name"],
        working_dir=working_dir,
        config_files=config_files,
        profiles=profiles,
        services=_frozen({n: _service(n, s) for n, s in (data.get("services") or {}).items()}),
        networks=_resources(data.get("networks")),
        volumes=_resources(data.get("volumes")),
        secrets=_resources(data.get("secrets")),
        configs=_resources(data.get("configs")),
        environment=_frozen(environment or {}),
    )
