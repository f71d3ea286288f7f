"""Legacy links on the default bridge: the environment dockerd gives the linking container.

For `--link db:alias`, dockerd (moby's daemon/links) puts before the container's own Env:
`ALIAS_PORT=tcp://ip:port` (the lowest exposed port), per exposed port
`ALIAS_PORT_80_TCP=tcp://ip:80` with `_ADDR`, `_PORT`, `_PROTO`, for a run of consecutive
ports also `_START`/`_END` and `_PORT_START`/`_PORT_END`, `ALIAS_NAME=/me/alias`, and
`ALIAS_ENV_X=v` for the linked container's Env (HOME and PATH left out). A link to a container
that does not run is refused at start, as dockerd refuses it. On user-defined networks links
are DNS aliases only (network_state.register_dns).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from runtime.containers.network_state import ACTIVE
from runtime.errors import EngineError
from runtime.network.endpoints import parse_links

if TYPE_CHECKING:
    from runtime.containers.records import Record
    from runtime.containers.table import ContainerTable
    from runtime.spec import ContainerSpec


def exposed_ports(config: Mapping[str, Any]) -> list[tuple[int, str]]:
    """`{"80/tcp": {}}` -> [(80, "tcp")], sorted by port then protocol (tcp first, as nat.Sort)."""
    out = []
    for key in config.get("ExposedPorts") or {}:
        port, _, proto = str(key).partition("/")
        if port.isdigit():
            out.append((int(port), proto or "tcp"))
    return sorted(set(out), key=lambda p: (p[0], p[1] != "tcp", p[1]))


def link_env(parent: str, alias: str, ip: str, ports: list[tuple[int, str]], child_env: Iterable[str]) -> list[str]:
    """The variables one link gives, in dockerd's order."""
    prefix = alias.upper().replace("-", "_")
    env = []
    if ports:
        port, proto = ports[0]
        env.append(f"{prefix}_PORT={proto}://{ip}:{port}")
    i = 0
    while i < len(ports):
        last = i
        while last + 1 < len(ports) and ports[last + 1] == (ports[last][0] + 1, ports[i][1]):
            last += 1
        if last > i:
            (first, proto), (end, _) = ports[i], ports[last]
            key = f"{prefix}_PORT_{first}_{proto.upper()}"
            env += [f"{key}_START={proto}://{ip}:{first}", f"{key}_ADDR={ip}", f"{key}_PROTO={proto}",
                    f"{key}_PORT_START={first}", f"{key}_END={proto}://{ip}:{end}", f"{key}_PORT_END={end}"]
        for port, proto in ports[i:last + 1]:
            key = f"{prefix}_PORT_{port}_{proto.upper()}"
            env += [f"{key}={proto}://{ip}:{port}", f"{key}_ADDR={ip}", f"{key}_PORT={port}", f"{key}_PROTO={proto}"]
        i = last + 1
    env.append(f"{prefix}_NAME=/{parent.lstrip('/')}/{alias}")
    for item in child_env:
        name, sep, value = str(item).partition("=")
        if sep and name not in ("HOME", "PATH"):
            env.append(f"{prefix}_ENV_{name}={value}")
    return env


def merged_env(link_vars: list[str], process_env: Iterable[str]) -> tuple[str, ...]:
    """Link variables under the container's own: a name the container sets keeps its value."""
    own = list(process_env)
    names = {item.partition("=")[0] for item in own}
    return (*(v for v in link_vars if v.partition("=")[0] not in names), *own)


def not_running(target: str, parent: str, alias: str) -> EngineError:
    return EngineError(400, f"Cannot link to a non running container: /{target} AS /{parent}/{alias}")


def with_link_env(table: ContainerTable, record: Record, spec: ContainerSpec) -> ContainerSpec:
    """The spec with its links' variables, when the container is on the default bridge."""
    env = link_vars(table, record)
    if not env:
        return spec
    process = dataclasses.replace(spec.process, env=merged_env(env, spec.process.env))
    return dataclasses.replace(spec, process=process)


def link_vars(table: ContainerTable, record: Record) -> list[str]:
    """The variables of the container's links on the default bridge (starts and execs get them)."""
    nets = table.networks
    links = parse_links(record.host_config.get("Links") or ())
    default = nets.store.default() if nets is not None else None
    on_default = default is not None and any(
        ep.get("NetworkID") == default.id for ep in (record.network_settings.get("Networks") or {}).values())
    if not links or default is None or not on_default:
        return []
    env: list[str] = []
    for target, alias in links:
        other = table.records.find(target)
        if other is None or other.state.status not in ACTIVE:
            raise not_running(target, record.name, alias)
        ip = next((str(ep["IPAddress"]) for ep in (other.network_settings.get("Networks") or {}).values()
                   if ep.get("NetworkID") == default.id and ep.get("IPAddress")), "")
        if ip:
            env += link_env(record.name, alias, ip, exposed_ports(other.config), other.config.get("Env") or ())
    return env


def check_targets(links: Iterable[str], network_mode: str, exists: Callable[[str], bool]) -> None:
    """dockerd's create-time check of links on the default bridge: each target must exist (a 400, not a
    404, so the docker CLI does not go and pull the image)."""
    links = list(links)
    if network_mode == "host" and links:
        raise EngineError(400, "conflicting options: host type networking can't be used with links. "
                               "This would result in undefined behavior")
    if network_mode not in ("", "default", "bridge"):
        return  # user-defined networks: links are aliases, checked when the endpoint is made
    for target, _ in parse_links(links):
        if not exists(target):
            raise EngineError(400, f"could not get container for {target}: No such container: {target}")
