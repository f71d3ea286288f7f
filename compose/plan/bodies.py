"""Engine API create bodies for a project's containers, networks and volumes.

Pure functions of the model: what `POST /containers/create`,
`/networks/create` and `/volumes/create` receive, labels included, so the
objects can be found and compared again (config hash) on the next run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from compose import labels as L
from compose.hashing import service_hash
from compose.loader.marks import plain
from compose.loader.units import parse_duration
from compose.model import Project, Resource, Service
from compose.observed import ObservedMount
from compose.plan.host_config import exposed_ports, host_config, namespace, stop_timeout
from compose.plan.operations import Handle, Ref


def config_hashes(project: Project) -> dict[str, str]:
    """The `com.docker.compose.config-hash` each service's containers should carry."""
    doc = {
        "services": {name: svc.config for name, svc in project.services.items()},
        "configs": {key: res.config for key, res in project.configs.items()},
        "secrets": {key: res.config for key, res in project.secrets.items()},
    }
    return {name: service_hash(name, doc) for name in project.services}


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(plain(value), sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def resource_hash(resource: Resource) -> str:
    """The config hash of a network or volume definition."""
    return _digest(resource.config)


def networks_by_priority(service: Service) -> list[str]:
    """Network keys, highest `priority` first, then by name (the first is the primary one)."""
    def priority(key: str) -> int:
        cfg = service.networks.get(key) or {}
        return int(cfg.get("priority") or 0)

    return sorted(service.networks, key=lambda k: (-priority(k), k))


def container_labels(
    project: Project,
    service: Service,
    number: int,
    config_hash: str,
    *,
    oneoff: bool = False,
    image_id: str | None = None,
    replace: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    out = dict(service.labels)
    out.update(extra or {})
    out.update({
        L.PROJECT: project.name,
        L.SERVICE: service.name,
        L.VERSION: L.COMPOSE_VERSION,
        L.ONEOFF: "True" if oneoff else "False",
        L.WORKING_DIR: str(project.working_dir),
        L.CONFIG_FILES: ",".join(project.config_files),
        L.CONFIG_HASH: config_hash,
        L.DEPENDS_ON: ",".join(
            f"{dep}:{d.condition}:{str(d.restart).lower()}" for dep, d in sorted(service.depends_on.items())
        ),
    })
    if number > 0:  # one-off containers are not numbered
        out[L.NUMBER] = str(number)
    if image_id:
        out[L.IMAGE] = image_id
    if replace:
        out[L.REPLACE] = replace
    return out


def _healthcheck(cfg: Mapping[str, Any]) -> dict[str, Any] | None:
    check = cfg.get("healthcheck")
    if not isinstance(check, Mapping):
        return None
    if check.get("disable"):
        return {"Test": ["NONE"]}
    out: dict[str, Any] = {}
    if check.get("test"):
        out["Test"] = list(check["test"])
    for key, api in (("interval", "Interval"), ("timeout", "Timeout"), ("start_period", "StartPeriod"),
                     ("start_interval", "StartInterval")):
        if check.get(key) is not None:
            out[api] = parse_duration(check[key])
    if check.get("retries") is not None:
        out["Retries"] = int(check["retries"])
    return out or None


def _env(environment: Mapping[str, str | None]) -> list[str]:
    return [key if value is None else f"{key}={value}" for key, value in sorted(environment.items())]


def _endpoint(project: Project, service: Service, key: str, name: str, links: list[str]) -> dict[str, Any]:
    cfg = service.networks.get(key) or {}
    endpoint: dict[str, Any] = {"Aliases": [name, service.name, *(cfg.get("aliases") or ())]}
    if links:
        endpoint["Links"] = links
    ipam = {k: v for k, v in (("IPv4Address", cfg.get("ipv4_address")), ("IPv6Address", cfg.get("ipv6_address")),
                              ("LinkLocalIPs", cfg.get("link_local_ips"))) if v}
    if ipam:
        endpoint["IPAMConfig"] = ipam
    if cfg.get("mac_address"):
        endpoint["MacAddress"] = cfg["mac_address"]
    opts = dict(cfg.get("driver_opts") or {})
    if cfg.get("interface_name"):
        opts["com.docker.network.endpoint.ifname"] = cfg["interface_name"]
    if opts:
        endpoint["DriverOpts"] = opts
    if cfg.get("gw_priority"):
        endpoint["GwPriority"] = cfg["gw_priority"]
    return endpoint


def _links(project: Project, cfg: Mapping[str, Any]) -> list[str]:
    out = []
    for link in cfg.get("links") or ():
        other, _, alias = str(link).partition(":")
        custom = (project.services[other].config.get("container_name") if other in project.services else None)
        out.append(f"{L.container_name(project.name, other, 1, custom)}:{alias or other}")
    for link in cfg.get("external_links") or ():
        target, _, alias = str(link).partition(":")
        out.append(f"{target}:{alias or target}")
    return out


def _networking(
    project: Project, service: Service, name: str, refs: Mapping[str, Handle], links: list[str]
) -> tuple[str | Ref, dict[str, Any] | None]:
    mode = namespace(service.config, "network_mode", refs)
    if mode is not None:
        return mode, None
    keys = networks_by_priority(service)
    if not keys:
        return "none", None
    endpoints = {project.networks[k].name: _endpoint(project, service, k, name, links) for k in keys}
    primary = project.networks[keys[0]].name
    mac = service.config.get("mac_address")
    if mac and "MacAddress" not in endpoints[primary]:
        endpoints[primary]["MacAddress"] = mac
    return primary, {"EndpointsConfig": endpoints}


def container_body(
    project: Project,
    service: Service,
    number: int,
    config_hash: str,
    *,
    name: str | None = None,
    refs: Mapping[str, Handle] | None = None,
    inherited: Sequence[ObservedMount] = (),
    image_id: str | None = None,
    oneoff: bool = False,
    replace: str | None = None,
    extra_labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The `POST /containers/create` body for replica `number` (0 for a one-off).

    `refs` maps a service to the container a `service:X` reference means (an
    id, or a Ref to the operation creating it); `inherited` are the mounts of
    the container this one replaces, whose anonymous volumes it keeps.
    """
    cfg = service.config
    name = name or L.container_name(project.name, service.name, number, cfg.get("container_name"))
    refs = refs or {}
    links = _links(project, cfg)
    network_mode, networking = _networking(project, service, name, refs, links)
    body: dict[str, Any] = {
        "Image": service.image or f"{project.name}-{service.name}",
        "Hostname": cfg.get("hostname"),
        "Domainname": cfg.get("domainname"),
        "User": cfg.get("user"),
        "WorkingDir": cfg.get("working_dir"),
        "Entrypoint": list(service.entrypoint) if service.entrypoint is not None else None,
        "Cmd": list(service.command) if service.command is not None else None,
        "Env": _env(service.environment),
        "Labels": container_labels(project, service, number, config_hash, oneoff=oneoff, image_id=image_id,
                                   replace=replace, extra=extra_labels),
        "Tty": bool(cfg.get("tty", False)),
        "OpenStdin": bool(cfg.get("stdin_open", False)),
        "AttachStdin": False,
        "AttachStdout": True,
        "AttachStderr": True,
        "ExposedPorts": exposed_ports(cfg) or None,
        "StopSignal": cfg.get("stop_signal"),
        "StopTimeout": stop_timeout(cfg),
        "Healthcheck": _healthcheck(cfg),
        "NetworkDisabled": True if cfg.get("network_mode") == "disabled" else None,
        "HostConfig": host_config(project, cfg, network_mode, refs, inherited, links if networking is None else ()),
    }
    if networking is not None:
        body["NetworkingConfig"] = networking
    return {k: v for k, v in body.items() if v is not None}


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
