"""A Docker create request (Config + HostConfig + NetworkingConfig) and an image -> spec and record.

`translate` decides everything the supervisor needs (a `ContainerSpec`) and
everything inspect shows (a `Record`), following Docker's semantics; its
only effects are making volume and bind-source directories. `write_bundle`
then lays out the bundle directory (overlay upper/work, the /etc files).
Networking hooks in at exactly one place: `network_step`.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.containers import create_config as cc
from runtime.containers import etc_files
from runtime.containers.create_devices import plan_devices
from runtime.containers.create_limits import cgroup_parent, extra_limits
from runtime.containers.create_mounts import (
    MountPlan,
    UserMount,
    VolumeSource,
    default_mounts,
    plan_mounts,
    user_mounts,
)
from runtime.containers.log_options import log_attrs, log_options, tag_names
from runtime.containers.records import Record, State
from runtime.containers.restart import validate as validate_restart
from runtime.containers.users import ReadFile, layer_reader, resolve_user
from runtime.errors import bad_request, not_found
from runtime.linux import cgroup_extra
from runtime.spec import NAMESPACES, ContainerSpec, Mount, Process, Rootfs

if TYPE_CHECKING:
    from runtime.network.endpoints import CreatePlan

INIT_BINARY = "/usr/bin/tini-static"
INIT_TARGET = "/sbin/docker-init"
HOST_HOSTS = "/etc/hosts"
HOST_RESOLV_CONF = "/etc/resolv.conf"
# systemd-resolved's stub (127.0.0.53) is unreachable from a container; its upstream list is here.
SYSTEMD_RESOLV_CONF = "/run/systemd/resolve/resolv.conf"
BRIDGE_MODES = ("bridge", "default", "")


@dataclass(frozen=True)
class ImageInfo:
    id: str
    name: str  # as the request named it
    config: Mapping[str, Any]  # the image's Config (Env, Cmd, Entrypoint, User, Labels...)
    layers: tuple[Path, ...]  # snapshot dirs, lowest first


@dataclass(frozen=True)
class HostFacts:
    """What create needs to know about the host, read once per request (tests pass their own)."""

    ncpu: int
    hostname: str
    hosts: str
    resolv_conf: str
    init_binary: str  # "" when not installed

    @classmethod
    def read(cls) -> HostFacts:
        resolv = _read(HOST_RESOLV_CONF)
        if "nameserver 127.0.0.53" in resolv and os.path.isfile(SYSTEMD_RESOLV_CONF):
            resolv = _read(SYSTEMD_RESOLV_CONF)
        return cls(len(os.sched_getaffinity(0)), socket.gethostname(), _read(HOST_HOSTS), resolv,
                   INIT_BINARY if os.path.isfile(INIT_BINARY) else "")


@dataclass
class NetworkStep:
    """What the network mode means for a container: namespaces, /etc files, inspect's NetworkSettings."""

    new_netns: bool
    hosts: str
    resolv_conf: str
    settings: dict[str, Any]


@dataclass
class Created:
    record: Record
    spec: ContainerSpec
    files: dict[str, str] = field(default_factory=dict)  # host path -> content
    log_max_size: int = 0
    log_max_file: int = 1
    anonymous_volumes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # dockerd's, for limits the kernel cannot apply


def now_rfc3339() -> str:
    """UTC time with nanoseconds, as Docker prints it."""
    now = datetime.datetime.now(datetime.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond * 1000:09d}Z"


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def network_step(mode: str, hostname: str, domainname: str, hc: Mapping[str, Any], host: HostFacts,
                 plan: CreatePlan | None = None) -> NetworkStep:
    """The network part of a container. `none`: its own namespace with only lo; `host`: the host's;
    `container:<id>`: the peer's (joined at start, runtime/containers/networking.py). Bridge networks
    come with a `plan` from the engine's network manager (runtime/network/endpoints.py); the veths,
    addresses, ports and DNS follow at start. Without one, the default bridge is like none."""
    extra = hc.get("ExtraHosts") or ()
    if mode == "host":
        hosts = etc_files.hosts_file(hostname, domainname, extra, host_hosts=host.hosts)
        resolv = etc_files.resolv_conf(host.resolv_conf, hc.get("Dns") or (), hc.get("DnsSearch") or (),
                                       hc.get("DnsOptions") or (), keep_local=True)
        return NetworkStep(False, hosts, resolv, plan.settings if plan else _settings("host"))
    if plan is not None and plan.kind == "bridge":
        return _bridge_step(hostname, domainname, hc, host, plan)
    if mode in ("none", *BRIDGE_MODES) or mode.startswith("container:"):
        name = "none" if mode == "none" else "bridge"
        hosts = etc_files.hosts_file(hostname, domainname, () if mode.startswith("container:") else extra)
        resolv = etc_files.resolv_conf(host.resolv_conf, hc.get("Dns") or (), hc.get("DnsSearch") or (),
                                       hc.get("DnsOptions") or ())
        return NetworkStep(True, hosts, resolv, plan.settings if plan else _settings(name))
    raise not_found(f"network {mode} not found")


def _bridge_step(hostname: str, domainname: str, hc: Mapping[str, Any], host: HostFacts,
                 plan: CreatePlan) -> NetworkStep:
    from runtime.network import files
    from runtime.network.errors import NetworkError

    try:
        hosts = files.hosts_file(hostname, (), domainname=domainname, extra_hosts=hc.get("ExtraHosts") or (),
                                 host_gateway=plan.host_gateway)
        resolv = files.resolv_conf(files.parse_resolv_conf(host.resolv_conf), dns_address=plan.dns_address,
                                   dns=hc.get("Dns") or (), dns_search=hc.get("DnsSearch") or (),
                                   dns_options=hc.get("DnsOptions") or ())
    except NetworkError as exc:
        raise bad_request(exc.message) from None
    return NetworkStep(True, hosts, resolv, plan.settings)


def _settings(network: str) -> dict[str, Any]:
    endpoint = {
        "IPAMConfig": None, "Links": None, "Aliases": None, "MacAddress": "", "NetworkID": "", "EndpointID": "",
        "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0, "DriverOpts": None, "DNSNames": None,
    }  # fmt: skip
    return {
        "Bridge": "", "SandboxID": "", "SandboxKey": "", "Ports": {}, "HairpinMode": False,
        "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0, "SecondaryIPAddresses": None,
        "SecondaryIPv6Addresses": None, "EndpointID": "", "Gateway": "", "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0, "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "MacAddress": "",
        "Networks": {network: endpoint},
    }  # fmt: skip


def namespaces(hc: Mapping[str, Any], new_netns: bool) -> tuple[str, ...]:
    """The namespaces to create: Docker's private ones minus those shared with the host."""
    shared = set() if new_netns else {"net"}
    for key, ns in (("IpcMode", "ipc"), ("PidMode", "pid"), ("UTSMode", "uts"), ("CgroupnsMode", "cgroup")):
        mode = str(hc.get(key) or "")
        if mode == "host":
            shared.add(ns)
        elif mode.startswith("container:"):
            raise bad_request(f"{key} {mode!r} is not supported yet")
        elif mode not in ("", "private", "shareable", "none"):
            raise bad_request(f"invalid {key}: {mode}")
    userns = str(hc.get("UsernsMode") or "")
    if userns not in ("", "host"):
        raise bad_request(f"UsernsMode {userns!r} is not supported")
    return tuple(ns for ns in NAMESPACES if ns not in shared)


def translate(
    container_id: str,
    name: str,
    body: Mapping[str, Any],
    image: ImageInfo,
    prefix: str,
    bundle: Path,
    host: HostFacts,
    volumes: VolumeSource,
    read_rootfs: ReadFile | None = None,
    networks: CreatePlan | None = None,
    inherited: Sequence[UserMount] = (),
) -> Created:
    """Everything about a new container, decided; `body` is the create request's JSON.

    `networks`: the network manager's plan for the request (None: no networking beyond the mode);
    `inherited`: the mounts of the containers in VolumesFrom (volumes_from.py)."""
    raw_hc = dict(body.get("HostConfig") or {})
    config = cc.merge_config(body, image.config)
    config["Image"] = config.get("Image") or image.name
    hc = cc.normalize_host_config(raw_hc)
    policy = validate_restart(raw_hc.get("RestartPolicy"), bool(hc.get("AutoRemove")))
    hc["RestartPolicy"] = policy.docker()
    logging = log_options(hc["LogConfig"])
    log_attrs(hc["LogConfig"], dict(config.get("Labels") or {}), config.get("Env") or (),
              tag_names(container_id, name, image.id, str(config.get("Image") or "")))  # refused here, not at start
    extra, warnings, discarded = extra_limits(hc, cgroup_extra.support())
    hc.update(discarded)
    argv = cc.command(config)
    working_dir = str(config.get("WorkingDir") or "/")
    if not working_dir.startswith("/"):
        raise bad_request(f"the working directory '{working_dir}' is invalid, it needs to be an absolute path")
    mode = str(hc["NetworkMode"])
    if config.get("NetworkDisabled"):
        mode = "none"
    if networks is not None and networks.peer is not None:
        # Docker: a container in another's netns takes its host name and refers to it by id.
        mode = hc["NetworkMode"] = "container:" + networks.peer.id
        config["Hostname"] = config.get("Hostname") or networks.peer.hostname
        config["Domainname"] = config.get("Domainname") or networks.peer.domainname
    hostname = str(config.get("Hostname") or "") or (host.hostname if mode == "host" else container_id[:12])
    config["Hostname"] = hostname
    domainname = str(config.get("Domainname") or "")
    net = network_step(mode, hostname, domainname, hc, host, networks)
    spaces = namespaces(hc, net.new_netns)

    read = read_rootfs or layer_reader(tuple(reversed(image.layers)))
    resolved = resolve_user(str(config.get("User") or ""), [str(g) for g in hc.get("GroupAdd") or ()], read)
    privileged = bool(hc.get("Privileged"))
    from runtime.linux import caps

    try:
        capabilities = caps.resolve(hc.get("CapAdd") or (), hc.get("CapDrop") or (), privileged)
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    no_new_privs, seccomp = cc.security_options(hc.get("SecurityOpt"))
    tty = bool(config.get("Tty"))
    process = Process(
        args=tuple(argv),
        env=cc.process_env(config.get("Env") or [], hostname, tty, resolved.home),
        cwd=working_dir,
        user=resolved.user,
        terminal=tty,
        capabilities=capabilities,
        no_new_privileges=no_new_privs,
        rlimits=cc.rlimits(hc.get("Ulimits")),
        oom_score_adj=cc.oom_score_adj(hc.get("OomScoreAdj")),
    )
    readonly = bool(hc.get("ReadonlyRootfs"))
    files = {
        str(bundle / "hostname"): etc_files.hostname_file(hostname),
        str(bundle / "hosts"): net.hosts,
        str(bundle / "resolv.conf"): net.resolv_conf,
    }
    mounts_plan = _mounts(hc, config, bundle, host, volumes, readonly, privileged, inherited)
    device_nodes, device_rules = plan_devices(hc, privileged)
    lowers = tuple(str(p) for p in reversed(image.layers))
    spec = ContainerSpec(
        id=container_id,
        name=name,
        prefix=prefix,
        bundle=str(bundle),
        rootfs=Rootfs(lowers, str(bundle / "upper"), str(bundle / "work"), str(bundle / "rootfs"), readonly),
        process=process,
        hostname=hostname,
        domainname=domainname,
        namespaces=spaces,
        mounts=tuple(mounts_plan.mounts),
        masked_paths=tuple(hc["MaskedPaths"]),
        readonly_paths=tuple(hc["ReadonlyPaths"]),
        devices=device_nodes,
        sysctls=cc.sysctls(hc.get("Sysctls"), "net" not in spaces, "ipc" not in spaces),
        resources=replace(cc.resources(hc, host.ncpu), devices=device_rules, **extra),
        cgroup_name=container_id,
        cgroup_parent=cgroup_parent(hc.get("CgroupParent")),
        seccomp=seccomp and not privileged,
        privileged=privileged,
        init=INIT_TARGET if hc.get("Init") else "",
        stop_signal=cc.parse_signal(config.get("StopSignal")),
    )
    record = Record(
        id=container_id,
        name=name,
        created=now_rfc3339(),
        image_id=image.id,
        image_name=image.name,
        config=config,
        host_config=hc,
        spec=json.loads(spec.to_json()),
        path=argv[0],
        args=argv[1:],
        networking_config=dict(body.get("NetworkingConfig") or {}),
        mounts=mounts_plan.points,
        network_settings=net.settings,
        state=State(),
        log_path=str(bundle / f"{container_id}-json.log") if hc["LogConfig"]["Type"] == "json-file" else "",
        hostname_path=str(bundle / "hostname"),
        hosts_path=str(bundle / "hosts"),
        resolv_conf_path=str(bundle / "resolv.conf"),
    )
    return Created(record, spec, files, logging.max_size, logging.max_file, mounts_plan.anonymous_volumes,
                   warnings)


def _mounts(hc: Mapping[str, Any], config: Mapping[str, Any], bundle: Path, host: HostFacts,
            volumes: VolumeSource, readonly: bool, privileged: bool, inherited: Sequence[UserMount]) -> MountPlan:
    wanted = user_mounts(hc, config.get("Volumes"), inherited)
    defaults = default_mounts(int(hc["ShmSize"]), privileged, str(hc.get("IpcMode") or ""))
    plan = plan_mounts(wanted, defaults, volumes)
    targets = {m.target for m in plan.mounts}
    ro = ("ro",) if readonly else ()
    for filename, target in (("resolv.conf", "/etc/resolv.conf"), ("hostname", "/etc/hostname"),
                             ("hosts", "/etc/hosts")):
        if target not in targets:
            plan.mounts.append(Mount(target, "bind", str(bundle / filename), ("rbind", *ro), "rprivate", "file"))
    if hc.get("Init"):
        if not host.init_binary:
            raise bad_request(f"--init needs {INIT_BINARY} (Debian's tini package), which is not installed")
        plan.mounts.append(Mount(INIT_TARGET, "bind", host.init_binary, ("bind", "ro"), "rprivate", "file"))
    return plan


def write_bundle(created: Created) -> None:
    """Make the bundle's directories and /etc files (a create that fails later removes the bundle)."""
    spec = created.spec
    bundle = Path(spec.bundle)
    bundle.mkdir(mode=0o710, parents=True, exist_ok=True)
    for path in (spec.rootfs.upperdir, spec.rootfs.workdir, spec.rootfs.mountpoint):
        Path(path).mkdir(mode=0o755, exist_ok=True)
    for path, content in created.files.items():
        Path(path).write_text(content)
        os.chmod(path, 0o644)
