"""What a container is, as the supervisor needs it to bring one to life.

The engine turns a Docker API create request (plus the image config) into a
`ContainerSpec`; the supervisor receives it as JSON (`to_json`/`from_json`)
and the birth code follows it step by step. Nothing here does I/O. Every
field is resolved already: paths are absolute, the user is numeric, the
capability set is final, limits are in bytes and microseconds.
At the bottom of the engine: `runtime/linux` (mounts, cgroups, rlimits, devices), the
supervisor and the container manager all read it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

NAMESPACES = ("mnt", "uts", "ipc", "pid", "net", "cgroup")


@dataclass(frozen=True)
class Mount:
    """One mount inside the container, applied in order after the rootfs."""

    target: str  # absolute path inside the container
    type: str  # "bind", "tmpfs", "proc", "sysfs", "devpts", "mqueue", "overlay"...
    source: str = ""  # host path for binds; "tmpfs"/"proc"... otherwise
    options: tuple[str, ...] = ()  # e.g. ("ro", "nosuid", "nodev", "size=65536k", "mode=755")
    propagation: str = ""  # "", "rprivate", "private", "rshared", "shared", "rslave", "slave"
    create: str = "dir"  # what to create at target when missing: "dir" or "file"


@dataclass(frozen=True)
class Rootfs:
    """An overlay of the image's snapshots with a per-container upper layer."""

    lowerdirs: tuple[str, ...]  # highest layer FIRST (overlay's order)
    upperdir: str
    workdir: str
    mountpoint: str  # host path where the overlay is mounted before pivot_root
    readonly: bool = False


@dataclass(frozen=True)
class User:
    uid: int = 0
    gid: int = 0
    additional_gids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Rlimit:
    name: str  # "nofile", "nproc", "core"... (RLIMIT_<NAME>)
    soft: int
    hard: int


@dataclass(frozen=True)
class Process:
    args: tuple[str, ...]
    env: tuple[str, ...] = ()  # "KEY=value"
    cwd: str = "/"
    user: User = field(default_factory=User)
    terminal: bool = False
    capabilities: tuple[str, ...] = ()  # final set, names like "CAP_CHOWN"; bounding=effective=permitted
    no_new_privileges: bool = False
    rlimits: tuple[Rlimit, ...] = ()
    oom_score_adj: int | None = None


@dataclass(frozen=True)
class DeviceRule:
    """One rule of a device cgroup, as v1's devices.allow/deny read it: `c 1:3 rwm`; -1 is `*`.

    Type "a" (any device) resets the policy: allow-all or deny-all, whatever follows it.
    """

    allow: bool
    type: str = "a"  # "a", "c" or "b"
    major: int = -1
    minor: int = -1
    access: str = "rwm"  # some of r (read), w (write), m (mknod)


@dataclass(frozen=True)
class DeviceNode:
    """A device node made in the container (HostConfig.Devices), with the host node's numbers and owner."""

    path: str  # absolute, inside the container
    type: str  # "c" or "b"
    major: int
    minor: int
    mode: int = 0o666  # permission bits
    uid: int = 0
    gid: int = 0
    host_path: str = ""  # bound instead when mknod is not allowed


@dataclass(frozen=True)
class Resources:
    """cgroup limits; None means unlimited / the kernel's default."""

    memory: int | None = None  # bytes
    memory_swap: int | None = None  # bytes, memory + swap; -1 unlimited
    memory_reservation: int | None = None
    cpu_quota: int | None = None  # microseconds per period
    cpu_period: int | None = None
    cpu_shares: int | None = None
    cpuset_cpus: str | None = None
    cpuset_mems: str | None = None
    pids_limit: int | None = None
    # The device policy, in order (runtime/linux/devices.py); None: none set, the parent's (all devices).
    devices: tuple[DeviceRule, ...] | None = None
    memory_swappiness: int | None = None  # 0-100
    cpu_rt_period: int | None = None  # microseconds (v1 cpu.rt_period_us)
    cpu_rt_runtime: int | None = None
    blkio_weight: int | None = None  # 10-1000
    blkio_weight_devices: tuple[tuple[str, int], ...] = ()  # ("major:minor", weight)
    # ("read_bps" | "write_bps" | "read_iops" | "write_iops", "major:minor", rate)
    blkio_throttle: tuple[tuple[str, str, int], ...] = ()


@dataclass(frozen=True)
class ContainerSpec:
    id: str  # 64 hex
    name: str
    prefix: str  # the engine's kernel-object prefix, e.g. "pyc3f9a"
    bundle: str  # per-container state dir on the host (logs, hosts files, overlay upper/work)
    rootfs: Rootfs
    process: Process
    hostname: str = ""
    domainname: str = ""
    # Namespaces to create; a namespace missing here is shared with the host
    # (network_mode host leaves out "net").
    namespaces: tuple[str, ...] = NAMESPACES
    # Namespaces to join instead of creating: name -> /proc/<pid>/ns/<name> or a bind-mounted ns file.
    join_namespaces: tuple[tuple[str, str], ...] = ()
    mounts: tuple[Mount, ...] = ()
    masked_paths: tuple[str, ...] = ()
    readonly_paths: tuple[str, ...] = ()
    devices: tuple[DeviceNode, ...] = ()  # nodes made besides the default ones
    sysctls: tuple[tuple[str, str], ...] = ()
    resources: Resources = field(default_factory=Resources)
    cgroup_name: str = ""  # leaf name of the container's cgroup, under the engine's
    cgroup_parent: str = ""  # HostConfig.CgroupParent, relative to each hierarchy's root; "": the engine's
    seccomp: bool = True  # apply the default profile (False: seccomp=unconfined or privileged)
    privileged: bool = False
    init: str = ""  # host path of an init binary to run as PID 1 (tini), "" for none
    stop_signal: int = 15

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ContainerSpec:
        return spec_from_dict(json.loads(text))


@dataclass(frozen=True)
class ExecSpec:
    """A process started inside a running container (exec, health checks)."""

    process: Process
    privileged: bool = False


def _process(d: dict[str, Any]) -> Process:
    return Process(
        args=tuple(d["args"]),
        env=tuple(d.get("env", ())),
        cwd=d.get("cwd", "/"),
        user=User(d["user"]["uid"], d["user"]["gid"], tuple(d["user"].get("additional_gids", ()))),
        terminal=bool(d.get("terminal", False)),
        capabilities=tuple(d.get("capabilities", ())),
        no_new_privileges=bool(d.get("no_new_privileges", False)),
        rlimits=tuple(Rlimit(**r) for r in d.get("rlimits", ())),
        oom_score_adj=d.get("oom_score_adj"),
    )


def _resources(d: dict[str, Any]) -> Resources:
    rules = d.get("devices")
    return Resources(**{**d, "devices": None if rules is None else tuple(DeviceRule(**r) for r in rules),
                        "blkio_weight_devices": tuple((a, b) for a, b in d.get("blkio_weight_devices", ())),
                        "blkio_throttle": tuple((a, b, c) for a, b, c in d.get("blkio_throttle", ()))})


def spec_from_dict(d: dict[str, Any]) -> ContainerSpec:
    return ContainerSpec(
        id=d["id"],
        name=d["name"],
        prefix=d["prefix"],
        bundle=d["bundle"],
        rootfs=Rootfs(tuple(d["rootfs"]["lowerdirs"]), d["rootfs"]["upperdir"], d["rootfs"]["workdir"],
                      d["rootfs"]["mountpoint"], bool(d["rootfs"].get("readonly", False))),
        process=_process(d["process"]),
        hostname=d.get("hostname", ""),
        domainname=d.get("domainname", ""),
        namespaces=tuple(d.get("namespaces", NAMESPACES)),
        join_namespaces=tuple((a, b) for a, b in d.get("join_namespaces", ())),
        mounts=tuple(Mount(m["target"], m["type"], m.get("source", ""), tuple(m.get("options", ())),
                           m.get("propagation", ""), m.get("create", "dir")) for m in d.get("mounts", ())),
        masked_paths=tuple(d.get("masked_paths", ())),
        readonly_paths=tuple(d.get("readonly_paths", ())),
        devices=tuple(DeviceNode(**n) for n in d.get("devices", ())),
        sysctls=tuple((a, b) for a, b in d.get("sysctls", ())),
        resources=_resources(d.get("resources", {})),
        cgroup_name=d.get("cgroup_name", ""),
        cgroup_parent=d.get("cgroup_parent", ""),
        seccomp=bool(d.get("seccomp", True)),
        privileged=bool(d.get("privileged", False)),
        init=d.get("init", ""),
        stop_signal=int(d.get("stop_signal", 15)),
    )


def exec_from_dict(d: dict[str, Any]) -> ExecSpec:
    return ExecSpec(_process(d["process"]), bool(d.get("privileged", False)))
