"""The container's mounts from a create request: Docker's defaults, Binds, Mounts, Tmpfs, volumes.

Pure decisions over the request, except for one edge: named and anonymous
volumes become directories through a `VolumeSource` (the volume store's
view for one container, `VolumeStore.for_container`). The result is the spec's mount list
(default mounts first, then the user's sorted by depth so parents come
before children) and Docker's MountPoint list for inspect.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from runtime.errors import bad_request
from runtime.spec import Mount

DEFAULT_SHM_SIZE = 64 * 1024 * 1024
MASKED_PATHS = (
    "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    "/sys/devices/virtual/powercap",
)  # fmt: skip
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")
VOLUME_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
PROPAGATIONS = ("shared", "rshared", "slave", "rslave", "private", "rprivate")
BIND_MODES = frozenset({"ro", "rw", "z", "Z", "nocopy", "consistent", "cached", "delegated", *PROPAGATIONS})
TMPFS_DEFAULTS = ("noexec", "nosuid", "nodev")
# Docker's tmpfs mounts start with what the image has at the target (runc's extension).
TMPFS_COPY_UP = "tmpcopyup"


class VolumeSource(Protocol):
    def mountpoint(self, name: str) -> Path:
        """The host directory of volume `name`, created when missing."""
        ...

    def anonymous(self) -> str:
        """The name of a new anonymous volume."""
        ...


@dataclass(frozen=True)
class UserMount:
    """One mount the user asked for, before it becomes a spec Mount."""

    type: str  # bind, volume, tmpfs
    target: str
    source: str = ""  # host path (bind) or volume name ("" = anonymous)
    readonly: bool = False
    propagation: str = ""
    mode: str = ""  # the option text as given, for inspect's Mode
    options: tuple[str, ...] = ()  # tmpfs options
    recursive: bool = True
    create_source: bool = False  # Binds create a missing host dir; Mounts refuse it
    anonymous: bool = False
    listed: bool = True  # shown in inspect's Mounts (HostConfig.Tmpfs entries are not, as in Docker)


@dataclass
class MountPlan:
    mounts: list[Mount] = field(default_factory=list)
    points: list[dict[str, Any]] = field(default_factory=list)  # Docker's MountPoint objects
    anonymous_volumes: list[str] = field(default_factory=list)


def default_mounts(shm_size: int, privileged: bool, ipc_mode: str) -> list[Mount]:
    """Docker's default mounts (runc's spec defaults plus /dev/shm and /dev/mqueue)."""
    ro = () if privileged else ("ro",)
    mounts = [
        Mount("/proc", "proc", "proc", ("nosuid", "noexec", "nodev")),
        Mount("/dev", "tmpfs", "tmpfs", ("nosuid", "strictatime", "mode=755", "size=65536k")),
        Mount("/dev/pts", "devpts", "devpts",
              ("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5")),
        Mount("/sys", "sysfs", "sysfs", ("nosuid", "noexec", "nodev", *ro)),
        Mount("/sys/fs/cgroup", "cgroup", "cgroup", ("nosuid", "noexec", "nodev", "relatime", *ro)),
        Mount("/dev/mqueue", "mqueue", "mqueue", ("nosuid", "noexec", "nodev")),
    ]
    if ipc_mode == "host":
        mounts.append(Mount("/dev/shm", "bind", "/dev/shm", ("rbind",), "rprivate"))
    elif ipc_mode != "none":
        size = shm_size or DEFAULT_SHM_SIZE
        mounts.append(Mount("/dev/shm", "tmpfs", "shm", ("nosuid", "noexec", "nodev", "mode=1777", f"size={size}")))
    return mounts


def parse_bind(text: str) -> UserMount:
    """A `Binds` entry: `src:dst[:opts]` (src absolute = host path, else a volume name), or `dst` alone."""
    parts = text.split(":")
    if len(parts) > 3 or not all(parts[:2]):
        raise bad_request(f"invalid spec: {text}: too many colons" if len(parts) > 3
                          else f"invalid volume specification: '{text}'")
    if len(parts) == 1:
        return UserMount("volume", _absolute(parts[0], "volume"), anonymous=True)
    source, target = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else ""
    flags = [m for m in mode.split(",") if m]
    bad = [m for m in flags if m not in BIND_MODES]
    if bad:
        raise bad_request(f"invalid mode: {mode}")
    readonly = "ro" in flags
    propagation = next((f for f in flags if f in PROPAGATIONS), "")
    if source.startswith("/"):
        return UserMount("bind", _absolute(target, "bind"), os.path.normpath(source), readonly,
                         propagation or "rprivate", mode, create_source=True)
    _check_volume_name(source)
    return UserMount("volume", _absolute(target, "volume"), source, readonly, "", mode or "z")


def parse_mount(item: Mapping[str, Any]) -> UserMount:
    """A `Mounts` entry (bind, volume or tmpfs) with Docker's validation messages."""
    kind = str(item.get("Type") or "")
    target = str(item.get("Target") or "")
    source = str(item.get("Source") or "")
    if kind not in ("bind", "volume", "tmpfs"):
        raise bad_request(f'invalid mount config: mount type unknown: "{kind}"')
    if not target:
        raise bad_request(f'invalid mount config for type "{kind}": field Target must not be empty')
    target = _absolute(target, kind)
    readonly = bool(item.get("ReadOnly"))
    if kind == "bind":
        options = item.get("BindOptions") or {}
        if not source:
            raise bad_request('invalid mount config for type "bind": field Source must not be empty')
        if not os.path.exists(source) and not options.get("CreateMountpoint"):
            raise bad_request(f'invalid mount config for type "bind": bind source path does not exist: {source}')
        propagation = str(options.get("Propagation") or "rprivate")
        return UserMount("bind", target, os.path.normpath(source), readonly, propagation,
                         recursive=not options.get("NonRecursive"), create_source=True)
    if kind == "volume":
        if source:
            _check_volume_name(source)
        return UserMount("volume", target, source, readonly, anonymous=not source)
    if source:
        raise bad_request('invalid mount config for type "tmpfs": field Source must not be specified')
    tmpfs = item.get("TmpfsOptions") or {}
    opts = []
    if tmpfs.get("SizeBytes"):
        opts.append(f"size={int(tmpfs['SizeBytes'])}")
    if tmpfs.get("Mode"):
        opts.append(f"mode={int(tmpfs['Mode']):o}")
    return UserMount("tmpfs", target, readonly=readonly, options=tmpfs_options(",".join(opts), readonly))


def tmpfs_options(text: str, readonly: bool = False) -> tuple[str, ...]:
    """Docker's tmpfs defaults (noexec, nosuid, nodev) with the user's options applied over them."""
    options = list(TMPFS_DEFAULTS)
    for opt in (o.strip() for o in text.split(",") if o.strip()):
        if opt in ("exec", "suid", "dev"):
            options = [o for o in options if o != "no" + opt]
        elif opt not in options:
            options.append(opt)
    if readonly and "ro" not in options:
        options.append("ro")
    return (*options, TMPFS_COPY_UP)


def _absolute(path: str, kind: str) -> str:
    if not path.startswith("/"):
        raise bad_request(f"invalid mount config for type \"{kind}\": invalid mount path: '{path}' "
                          "mount path must be absolute")
    return os.path.normpath(path)


def _check_volume_name(name: str) -> None:
    if not VOLUME_NAME.fullmatch(name):
        raise bad_request(
            f'create {name}: "{name}" includes invalid characters for a local volume name, only '
            '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path'
        )


def user_mounts(host_config: Mapping[str, Any], config_volumes: Mapping[str, Any] | None,
                inherited: Sequence[UserMount] = ()) -> list[UserMount]:
    """Every mount the request asks for, duplicates refused, then the `inherited` ones (VolumesFrom) at
    other destinations; image/config VOLUMEs not covered become anonymous."""
    wanted = [parse_bind(b) for b in host_config.get("Binds") or ()]
    wanted += [parse_mount(m) for m in host_config.get("Mounts") or ()]
    for target, options in (host_config.get("Tmpfs") or {}).items():
        wanted.append(UserMount("tmpfs", _absolute(target, "tmpfs"), options=tmpfs_options(str(options or "")),
                                listed=False))
    seen: set[str] = set()
    for m in wanted:
        if m.target in seen:
            raise bad_request(f"Duplicate mount point: {m.target}")
        seen.add(m.target)
    for m in inherited:
        if m.target not in seen:
            wanted.append(m)
            seen.add(m.target)
    for target in config_volumes or {}:
        path = os.path.normpath(target)
        if path.startswith("/") and path not in seen:
            wanted.append(UserMount("volume", path, anonymous=True))
            seen.add(path)
    return wanted


def plan_mounts(wanted: Sequence[UserMount], defaults: Sequence[Mount], volumes: VolumeSource) -> MountPlan:
    """Spec mounts and MountPoints; volume directories are made through `volumes`."""
    plan = MountPlan()
    targets = {m.target for m in wanted}
    plan.mounts = [m for m in defaults if m.target not in targets]
    for m in sorted(wanted, key=lambda m: len(Path(m.target).parts)):
        if m.type == "volume":
            name = m.source
            if m.anonymous or not name:
                name = volumes.anonymous()
                plan.anonymous_volumes.append(name)
            path = str(volumes.mountpoint(name))
            m = replace(m, source=name)
            plan.mounts.append(Mount(m.target, "bind", path, ("rbind", *_ro(m)), "rprivate"))
            plan.points.append(_point("volume", path, m, name=name, driver="local"))
        elif m.type == "bind":
            if m.create_source and not os.path.exists(m.source):
                os.makedirs(m.source, mode=0o755, exist_ok=True)
            create = "file" if os.path.exists(m.source) and not os.path.isdir(m.source) else "dir"
            options = ("rbind" if m.recursive else "bind", *_ro(m))
            plan.mounts.append(Mount(m.target, "bind", m.source, options, m.propagation, create))
            plan.points.append(_point("bind", m.source, m))
        else:
            plan.mounts.append(Mount(m.target, "tmpfs", "tmpfs", m.options))
            if m.listed:
                plan.points.append(_point("tmpfs", "", m))
    return plan


def _ro(m: UserMount) -> tuple[str, ...]:
    return ("ro",) if m.readonly else ()


def _point(kind: str, source: str, m: UserMount, name: str = "", driver: str = "") -> dict[str, Any]:
    point: dict[str, Any] = {"Type": kind}
    if name:
        point["Name"] = name
    point.update({"Source": source, "Destination": m.target})
    if driver:
        point["Driver"] = driver
    point.update({"Mode": m.mode, "RW": not m.readonly, "Propagation": m.propagation})
    return point

