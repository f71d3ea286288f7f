"""`HostConfig` of a container create body, from a normalized service mapping.

Follows what Docker Compose sends: bind mounts that may create their host
path go in `Binds` (the `Mounts` API refuses a missing source), everything
else in `Mounts`; `service:X` namespaces and `volumes_from` become
`container:<id>`, left as a Ref when X's container is made by the same plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from compose.errors import ComposeError
from compose.loader.units import parse_duration
from compose.model import Project
from compose.observed import ObservedMount
from compose.plan.injected import bind_mounts
from compose.plan.operations import Handle, Ref, wrap

_NAMESPACE_WORDS = {"network_mode": "network", "ipc": "IPC", "pid": "PID"}


def shared_with(value: Any) -> str | None:
    """The service named by `service:X`, else None."""
    return value[len("service:"):] if isinstance(value, str) and value.startswith("service:") else None


def _handle(refs: Mapping[str, Handle], service: str, what: str) -> Handle:
    if service not in refs:
        raise ComposeError(f"cannot share {what} with service {service}: container missing")
    return refs[service]


def namespace(cfg: Mapping[str, Any], key: str, refs: Mapping[str, Handle]) -> str | Ref | None:
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


def _bind_string(volume: Mapping[str, Any]) -> str:
    bind = volume.get("bind") or {}
    options = ["ro"] if volume.get("read_only") else []
    options += [bind[k] for k in ("selinux", "propagation") if bind.get(k)]
    tail = f":{','.join(options)}" if options else ""
    return f"{volume.get('source')}:{volume['target']}{tail}"


def _mount(project: Project, volume: Mapping[str, Any]) -> dict[str, Any]:
    kind = str(volume.get("type") or "volume")
    out: dict[str, Any] = {"Type": kind, "Target": volume["target"]}
    source = volume.get("source")
    if kind == "volume" and source:
        resource = project.volumes.get(source)
        out["Source"] = resource.name if resource else source
    elif source:
        out["Source"] = source
    if volume.get("read_only"):
        out["ReadOnly"] = True
    extra = volume.get(kind) or {}
    if kind == "volume" and (extra.get("nocopy") or extra.get("subpath")):
        out["VolumeOptions"] = _drop_empty({"NoCopy": extra.get("nocopy"), "Subpath": extra.get("subpath")})
    elif kind == "bind" and extra.get("propagation"):
        out["BindOptions"] = {"Propagation": extra["propagation"]}
    elif kind == "tmpfs" and extra:
        out["TmpfsOptions"] = _drop_empty({"SizeBytes": extra.get("size"), "Mode": extra.get("mode")})
    elif kind == "image" and extra.get("subpath"):
        out["ImageOptions"] = {"Subpath": extra["subpath"]}
    return out


def mounts(
    project: Project, cfg: Mapping[str, Any], inherited: Sequence[ObservedMount] = ()
) -> tuple[list[str], list[dict[str, Any]]]:
    """(Binds, Mounts); anonymous volumes of the replaced container are kept unless renewed."""
    binds: list[str] = []
    out: list[dict[str, Any]] = []
    named = {v.name for v in project.volumes.values()}
    declared = {v["target"]: v for v in cfg.get("volumes") or () if isinstance(v, Mapping)}
    reuse = {
        m.destination: m for m in inherited
        if m.type == "volume" and m.name and m.name not in named
        and not (declared.get(m.destination) or {}).get("source")
    }
    for volume in cfg.get("volumes") or ():
        if volume.get("type") == "bind" and (volume.get("bind") or {}).get("create_host_path"):
            binds.append(_bind_string(volume))
        elif volume["target"] in reuse:
            old = reuse.pop(volume["target"])
            out.append({"Type": "volume", "Source": old.name, "Target": old.destination, "ReadOnly": not old.rw})
        else:
            out.append(_mount(project, volume))
    for old in reuse.values():  # image VOLUMEs the service does not declare
        out.append({"Type": "volume", "Source": old.name, "Target": old.destination, "ReadOnly": not old.rw})
    return binds, out + bind_mounts(project, cfg)


def port_bindings(cfg: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for port in cfg.get("ports") or ():
        key = f"{port['target']}/{port.get('protocol') or 'tcp'}"
        out.setdefault(key, []).append({"HostIp": port.get("host_ip") or "", "HostPort": port.get("published") or ""})
    return out


def exposed_ports(cfg: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    keys = [f"{p['target']}/{p.get('protocol') or 'tcp'}" for p in cfg.get("ports") or ()]
    for entry in cfg.get("expose") or ():
        ports, _, proto = str(entry).partition("/")
        first, _, last = ports.partition("-")
        keys += [f"{n}/{proto or 'tcp'}" for n in range(int(first), int(last or first) + 1)]
    return {key: {} for key in keys}


_RESTART_CONDITIONS = {"none": "no", "no": "no", "any": "always", "always": "always"}


def restart_policy(cfg: Mapping[str, Any]) -> dict[str, Any]:
    restart = cfg.get("restart")
    if restart:
        name, _, count = str(restart).partition(":")
        return {"Name": name, "MaximumRetryCount": int(count) if count else 0}
    policy = (cfg.get("deploy") or {}).get("restart_policy")
    if policy:
        condition = str(policy.get("condition") or "any")
        return {"Name": _RESTART_CONDITIONS.get(condition, condition),
                "MaximumRetryCount": int(policy.get("max_attempts") or 0)}
    return {"Name": "no"}


def _ulimits(value: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name, limit in sorted(value.items()):
        soft, hard = (limit["soft"], limit["hard"]) if isinstance(limit, Mapping) else (limit, limit)
        out.append({"Name": name, "Soft": int(soft), "Hard": int(hard)})
    return out


def _microseconds(value: Any) -> int | None:
    if value is None:
        return None
    return int(value) if isinstance(value, int | float) else parse_duration(value) // 1000


def _blkio(cfg: Mapping[str, Any]) -> dict[str, Any]:
    blkio = cfg.get("blkio_config") or {}
    out: dict[str, Any] = {"BlkioWeight": blkio.get("weight")}
    if blkio.get("weight_device"):
        out["BlkioWeightDevice"] = [{"Path": d["path"], "Weight": d["weight"]} for d in blkio["weight_device"]]
    for key, api in (("device_read_bps", "BlkioDeviceReadBps"), ("device_write_bps", "BlkioDeviceWriteBps"),
                     ("device_read_iops", "BlkioDeviceReadIOps"), ("device_write_iops", "BlkioDeviceWriteIOps")):
        if blkio.get(key):
            out[api] = [{"Path": d["path"], "Rate": int(d["rate"])} for d in blkio[key]]
    return out


def resources(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The Resources part of HostConfig; `deploy.resources` wins over the service-level keys."""
    deploy = (cfg.get("deploy") or {}).get("resources") or {}
    limits, reservations = deploy.get("limits") or {}, deploy.get("reservations") or {}
    cpus = limits.get("cpus", cfg.get("cpus"))
    out: dict[str, Any] = {
        "Memory": limits.get("memory", cfg.get("mem_limit")),
        "MemoryReservation": reservations.get("memory", cfg.get("mem_reservation")),
        "MemorySwap": cfg.get("memswap_limit"),
        "MemorySwappiness": cfg.get("mem_swappiness"),
        "NanoCpus": round(float(cpus) * 1e9) if cpus else None,
        "CpuShares": cfg.get("cpu_shares"),
        "CpuPeriod": cfg.get("cpu_period"),
        "CpuQuota": cfg.get("cpu_quota"),
        "CpuRealtimePeriod": _microseconds(cfg.get("cpu_rt_period")),
        "CpuRealtimeRuntime": _microseconds(cfg.get("cpu_rt_runtime")),
        "CpusetCpus": cfg.get("cpuset"),
        "CpuCount": cfg.get("cpu_count"),
        "CpuPercent": cfg.get("cpu_percent"),
        "PidsLimit": limits.get("pids", cfg.get("pids_limit")),
        "OomKillDisable": cfg.get("oom_kill_disable"),
        "CgroupParent": cfg.get("cgroup_parent"),
        "DeviceCgroupRules": cfg.get("device_cgroup_rules"),
        **_blkio(cfg),
    }
    if cfg.get("ulimits"):
        out["Ulimits"] = _ulimits(cfg["ulimits"])
    if cfg.get("devices"):
        out["Devices"] = [
            {"PathOnHost": d["source"], "PathInContainer": d.get("target") or d["source"],
             "CgroupPermissions": d.get("permissions") or "rwm"}
            for d in cfg["devices"]
        ]
    return _drop_empty(out)


def host_config(
    project: Project,
    cfg: Mapping[str, Any],
    network_mode: str | Ref,
    refs: Mapping[str, Handle],
    inherited: Sequence[ObservedMount] = (),
    links: Sequence[str] = (),
) -> dict[str, Any]:
    binds, mount_list = mounts(project, cfg, inherited)
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
        "PortBindings": port_bindings(cfg),
        "RestartPolicy": restart_policy(cfg),
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
        "IpcMode": namespace(cfg, "ipc", refs),
        "PidMode": namespace(cfg, "pid", refs),
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
    return _drop_empty(out)


def _drop_empty(values: dict[str, Any]) -> dict[str, Any]:
    """Leave out what the service does not set, so the engine applies its defaults."""
    return {k: v for k, v in values.items() if v is not None and v != [] and v != {}}


def stop_timeout(cfg: Mapping[str, Any]) -> int | None:
    value = cfg.get("stop_grace_period")
    return parse_duration(value) // 1_000_000_000 if value is not None else None
