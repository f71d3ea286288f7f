"""The project's networks and volumes: their create bodies, their config hash, and whether an
existing one may serve as the project's, in Docker Compose's words."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from compose import labels as L
from compose.errors import ComposeError
from compose.loader.marks import plain
from compose.model import Project, Resource
from compose.observed import ObservedNetwork, ObservedVolume


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(plain(value), sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def resource_hash(resource: Resource) -> str:
    """The config hash of a network or volume definition."""
    return _digest(resource.config)


def network_body(project: Project, key: str) -> dict[str, Any]:
    resource = project.networks[key]
    cfg = resource.config
    ipam = cfg.get("ipam") or {}
    body: dict[str, Any] = {
        "Name": resource.name,
        "Driver": cfg.get("driver") or "bridge",
        "Options": dict(cfg.get("driver_opts") or {}),
        "Internal": bool(cfg.get("internal", False)),
        "Attachable": bool(cfg.get("attachable", False)),
        "Labels": {**(cfg.get("labels") or {}), L.PROJECT: project.name, L.NETWORK: key,
                   L.VERSION: L.COMPOSE_VERSION, L.CONFIG_HASH: resource_hash(resource)},
    }
    if cfg.get("enable_ipv6") is not None:
        body["EnableIPv6"] = bool(cfg["enable_ipv6"])
    if cfg.get("enable_ipv4") is not None:
        body["EnableIPv4"] = bool(cfg["enable_ipv4"])
    if ipam:
        body["IPAM"] = {
            "Driver": ipam.get("driver") or "default",
            "Config": [
                {k: v for k, v in (("Subnet", c.get("subnet")), ("IPRange", c.get("ip_range")),
                                   ("Gateway", c.get("gateway")), ("AuxiliaryAddresses", c.get("aux_addresses")))
                 if v}
                for c in ipam.get("config") or ()
            ],
            "Options": dict(ipam.get("options") or {}),
        }
    return body


def volume_body(project: Project, key: str) -> dict[str, Any]:
    resource = project.volumes[key]
    cfg = resource.config
    return {
        "Name": resource.name,
        "Driver": cfg.get("driver") or "local",
        "DriverOpts": dict(cfg.get("driver_opts") or {}),
        "Labels": {**(cfg.get("labels") or {}), L.PROJECT: project.name, L.VOLUME: key,
                   L.VERSION: L.COMPOSE_VERSION, L.CONFIG_HASH: resource_hash(resource)},
    }




def check_network(project: Project, key: str, found: ObservedNetwork | None, warnings: list[str]) -> bool:
    """True when the plan should manage the network (create it if `found` is None); errors if unusable."""
    resource = project.networks[key]
    if resource.external:
        if found is None:
            raise ComposeError(f"network {resource.name} declared as external, but could not be found")
        return False
    if found is None:
        return True
    if found.project is None:
        warnings.append(f"a network with name {resource.name} exists but was not created by compose.\n"
                        "Set `external: true` to use an existing network")
        return False
    if found.project != project.name:
        warnings.append(f'a network with name {resource.name} exists but was not created for project '
                        f'"{project.name}".\nSet `external: true` to use an existing network')
        return False
    if found.key is not None and found.key != key:
        raise ComposeError(f'network {resource.name} was found but has incompatible label {L.NETWORK} set to '
                           f'"{found.key}" (expected: "{key}")')
    return True


def check_volume(project: Project, key: str, found: ObservedVolume | None, warnings: list[str]) -> bool:
    """True when the plan should manage the volume; a diverged one is kept (recreating it loses data)."""
    resource = project.volumes[key]
    if resource.external:
        if found is None:
            raise ComposeError(f'external volume "{resource.name}" not found')
        return False
    if found is None:
        return True
    if found.project is None:
        warnings.append(f'volume "{resource.name}" already exists but was not created by Docker Compose. '
                        "Use `external: true` to use an existing volume")
    elif found.project != project.name:
        warnings.append(f'volume "{resource.name}" already exists but was created for project "{found.project}" '
                        f'(expected "{project.name}"). Use `external: true` to use an existing volume')
    elif found.config_hash and found.config_hash != resource_hash(resource):
        warnings.append(f'volume "{resource.name}" exists but doesn\'t match configuration in compose file; '
                        "remove it (data will be lost) to apply the new configuration")
    return True
