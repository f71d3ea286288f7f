"""The compose project as frozen dataclasses, built from the normalized document.

What the plan reads is typed: ports, mounts, the healthcheck, the restart
policy, dependencies, networks, command, environment, labels. The plain
values the create body passes on as they are (`user`, `cap_add`,
`mem_limit`, ...) stay in `config`, the service's whole normalized mapping,
which the config hash is computed from, so nothing the user wrote is lost.
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
    """A `ports:` entry (long form)."""

    target: int
    published: str | None = None
    host_ip: str | None = None
    protocol: str = "tcp"
    mode: str = "ingress"

    @property
    def key(self) -> str:
        """`<target>/<protocol>`, as ExposedPorts and PortBindings key it."""
        return f"{self.target}/{self.protocol}"


@dataclass(frozen=True)
class Mount:
    """A `volumes:` entry (long form); the options are those of its own `type`'s section."""

    type: str
    target: str
    source: str | None = None
    read_only: bool = False
    create_host_path: bool = False  # bind
    selinux: str | None = None  # bind
    propagation: str | None = None  # bind
    nocopy: bool | None = None  # volume
    subpath: str | None = None  # volume, image
    size: int | None = None  # tmpfs, bytes
    mode: int | None = None  # tmpfs


@dataclass(frozen=True)
class RestartPolicy:
    """`restart:` or `deploy.restart_policy`, in the engine's words (`any` is `always`)."""

    name: str
    maximum_retry_count: int = 0


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
    expose: tuple[str, ...]
    volumes: tuple[Mount, ...]
    depends_on: Mapping[str, Dependency]
    networks: Mapping[str, Mapping[str, Any] | None]
    network_mode: str | None
    healthcheck: Healthcheck | None
    restart: RestartPolicy | None
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


def _port(raw: Mapping[str, Any]) -> Port:
    return Port(int(raw["target"]), raw.get("published"), raw.get("host_ip"), raw.get("protocol") or "tcp",
                raw.get("mode") or "ingress")


def _mount(raw: Mapping[str, Any]) -> Mount:
    kind = str(raw.get("type") or "volume")
    options = raw.get(kind) if kind in ("bind", "volume", "tmpfs", "image") else None
    options = options if isinstance(options, Mapping) else {}
    bind = options if kind == "bind" else {}
    tmpfs = options if kind == "tmpfs" else {}
    return Mount(
        type=kind, target=raw["target"], source=raw.get("source"), read_only=bool(raw.get("read_only")),
        create_host_path=bool(bind.get("create_host_path")), selinux=bind.get("selinux"),
        propagation=bind.get("propagation"), nocopy=options.get("nocopy") if kind == "volume" else None,
        subpath=options.get("subpath") if kind in ("volume", "image") else None,
        size=tmpfs.get("size"), mode=tmpfs.get("mode"),
    )


_RESTART_CONDITIONS = {"none": "no", "no": "no", "any": "always", "always": "always"}


def _restart(raw: Mapping[str, Any]) -> RestartPolicy | None:
    """`restart: on-failure:3` wins over `deploy.restart_policy`; a count that is no number is 0 (as compose)."""
    restart = raw.get("restart")
    if restart:
        name, _, count = str(restart).partition(":")
        try:
            retries = int(count) if count else 0
        except ValueError:
            retries = 0
        return RestartPolicy(name, retries)
    policy = (raw.get("deploy") or {}).get("restart_policy")
    if policy:
        condition = str(policy.get("condition") or "any")
        return RestartPolicy(_RESTART_CONDITIONS.get(condition, condition), int(policy.get("max_attempts") or 0))
    return None


def _healthcheck(hc: Any) -> Healthcheck | None:
    if not isinstance(hc, Mapping):
        return None
    return Healthcheck(
        test=tuple(hc.get("test") or ()),
        interval=hc.get("interval"),
        timeout=hc.get("timeout"),
        retries=hc.get("retries"),
        start_period=hc.get("start_period"),
        start_interval=hc.get("start_interval"),
        disable=bool(hc.get("disable", False)),
    )


def _service(name: str, raw: Mapping[str, Any]) -> Service:
    deploy = raw.get("deploy") or {}
    scale = raw.get("scale", deploy.get("replicas", 1))
    return Service(
        name=name,
        image=raw.get("image"),
        build=_frozen(raw["build"]) if raw.get("build") else None,
        command=tuple(raw["command"]) if raw.get("command") is not None else None,
        entrypoint=tuple(raw["entrypoint"]) if raw.get("entrypoint") is not None else None,
        environment=_frozen(raw.get("environment") or {}),
        labels=_frozen(raw.get("labels") or {}),
        ports=tuple(_port(p) for p in raw.get("ports") or ()),
        expose=tuple(str(e) for e in raw.get("expose") or ()),
        volumes=tuple(_mount(v) for v in raw.get("volumes") or () if isinstance(v, Mapping)),
        depends_on=_frozen({
            dep: Dependency(d.get("condition", "service_started"), bool(d.get("required", True)),
                            bool(d.get("restart", False)))
            for dep, d in (raw.get("depends_on") or {}).items()
        }),
        networks=_frozen(raw.get("networks") or {}),
        network_mode=raw.get("network_mode"),
        healthcheck=_healthcheck(raw.get("healthcheck")),
        restart=_restart(raw),
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
