"""The `POST /containers/create` body of a service's container, all of it.

A pure function of the typed model (compose/model.py): the container's
config, its `HostConfig` and its `NetworkingConfig`, labels included so the
container can be found and compared again (config hash) on the next run.
Two parts come from modules of their own: the mounts (plan/mounts.py) and the
cgroup limits (plan/limits.py). `service:X` namespaces and `volumes_from`
become `container:<id>`, left as a Ref when X's container is made by the
same plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from compose import labels as L
from compose.errors import ComposeError
from compose.hashing import service_hash
from compose.loader.ports import expose_keys
from compose.loader.units import parse_duration
from compose.model import Healthcheck, Project, Service
from compose.observed import ObservedMount
from compose.plan.limits import resources
from compose.plan.mounts import drop_empty, mounts
from compose.plan.operations import Handle, Ref, wrap

_NAMESPACE_WORDS = {"network_mode": "network", "ipc": "IPC", "pid": "PID"}


def config_hashes(project: Project) -> dict[str, str]:
    """The `com.docker.compose.config-hash` each service's containers should carry."""
    doc = {
        "services": {name: svc.config for name, svc in project.services.items()},
        "configs": {key: res.config for key, res in project.configs.items()},
        "secrets": {key: res.config for key, res in project.secrets.items()},
    }
    return {name: service_hash(name, doc) for name in project.services}


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


def _healthcheck(check: Healthcheck | None) -> dict[str, Any] | None:
    if check is None:
        return None
    if check.disable:
        return {"Test": ["NONE"]}
    out: dict[str, Any] = {}
    if check.test:
        out["Test"] = list(check.test)
    for value, api in ((check.interval, "Interval"), (check.timeout, "Timeout"), (check.start_period, "StartPeriod"),
                       (check.start_interval, "StartInterval")):
        if value is not None:
            out[api] = parse_duration(value)
    if check.retries is not None:
        out["Retries"] = int(check.retries)
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
    mode = _namespace(service.config, "network_mode", refs)
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


def shared_with(value: Any) -> str | None:
    """The service named by `service:X`, else None."""
    return value[len("service:"):] if isinstance(value, str) and value.startswith("service:") else None


def _handle(refs: Mapping[str, Handle], service: str, what: str) -> Handle:
    if service not in refs:
        raise ComposeError(f"cannot share {what} with service {service}: container missing")
    return refs[service]


def _namespace(cfg: Mapping[str, Any], key: str, refs: Mapping[str, Handle]) -> str | Ref | None:
    value = cfg.get(key)
    other = shared_with(value)
    if other is None:
        return value if value else None
    return wrap(_handle(refs, other, f"{_NAMESPACE_WORDS[key]} namespace"), "container:")


def _volumes_from(entries: Sequence[str], refs: Mapping[str, Handle]) -> list[str | Ref]:
    out: list[str | Ref] = []
    for entry in entries:
        if entry.startswith("container:"):
            out.append(entry[len("container:"):])
            continue
        name, sep, mode = entry.partition(":")
        out.append(wrap(_handle(refs, name, "volume"), "", f"{sep}{mode}"))
    return out


def _port_bindings(service: Service) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for port in service.ports:
        out.setdefault(port.key, []).append({"HostIp": port.host_ip or "", "HostPort": port.published or ""})
    return out


def _exposed_ports(service: Service) -> dict[str, dict[str, Any]]:
    return {key: {} for key in [*(p.key for p in service.ports), *expose_keys(service.expose)]}


def _restart_policy(service: Service) -> dict[str, Any]:
    policy = service.restart
    return {"Name": policy.name, "MaximumRetryCount": policy.maximum_retry_count} if policy else {"Name": "no"}


def _stop_timeout(cfg: Mapping[str, Any]) -> int | None:
    value = cfg.get("stop_grace_period")
    return parse_duration(value) // 1_000_000_000 if value is not None else None


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
        "ExposedPorts": _exposed_ports(service) or None,
        "StopSignal": cfg.get("stop_signal"),
        "StopTimeout": _stop_timeout(cfg),
        "Healthcheck": _healthcheck(service.healthcheck),
        "NetworkDisabled": True if cfg.get("network_mode") == "disabled" else None,
        "HostConfig": _host_config(project, service, network_mode, refs, inherited,
                                   links if networking is None else ()),
    }
    if networking is not None:
        body["NetworkingConfig"] = networking
    return {k: v for k, v in body.items() if v is not None}


def _host_config(
    project: Project,
    service: Service,
    network_mode: str | Ref,
    refs: Mapping[str, Handle],
    inherited: Sequence[ObservedMount] = (),
    links: Sequence[str] = (),
) -> dict[str, Any]:
    cfg = service.config
    binds, mount_list = mounts(project, service, inherited)
    tmpfs = {}
    for entry in cfg.get("tmpfs") or ():
        path, _, options = str(entry).partition(":")
        tmpfs[path] = options
    logging = cfg.get("logging") or {}
    extra_hosts = [f"{host}:{ip}" for host, ips in (cfg.get("extra_hosts") or {}).items() for ip in ips]
    out: dict[str, Any] = {
        "Binds": binds,
        "Mounts": mount_list,
        "Tmpfs": tmpfs,
        "NetworkMode": network_mode,
        "PortBindings": _port_bindings(service),
        "RestartPolicy": _restart_policy(service),
        "CapAdd": cfg.get("cap_add"),
        "CapDrop": cfg.get("cap_drop"),
        "Privileged": cfg.get("privileged"),
        "ReadonlyRootfs": cfg.get("read_only"),
        "SecurityOpt": cfg.get("security_opt"),
        "Init": cfg.get("init"),
        "ShmSize": cfg.get("shm_size"),
        "Sysctls": cfg.get("sysctls"),
        "ExtraHosts": extra_hosts,
        "Dns": cfg.get("dns"),
        "DnsSearch": cfg.get("dns_search"),
        "DnsOptions": cfg.get("dns_opt"),
        "GroupAdd": cfg.get("group_add"),
        "IpcMode": _namespace(cfg, "ipc", refs),
        "PidMode": _namespace(cfg, "pid", refs),
        "UTSMode": cfg.get("uts"),
        "CgroupnsMode": cfg.get("cgroup"),
        "UsernsMode": cfg.get("userns_mode"),
        "Isolation": cfg.get("isolation"),
        "Runtime": cfg.get("runtime"),
        "StorageOpt": cfg.get("storage_opt"),
        "VolumeDriver": cfg.get("volume_driver"),
        "VolumesFrom": _volumes_from(cfg.get("volumes_from") or (), refs),
        "OomScoreAdj": cfg.get("oom_score_adj"),
        "Annotations": cfg.get("annotations"),
        "Links": list(links),
        "LogConfig": {"Type": logging.get("driver") or "", "Config": dict(logging.get("options") or {})}
        if logging else None,
        **resources(cfg),
    }
    return drop_empty(out)
