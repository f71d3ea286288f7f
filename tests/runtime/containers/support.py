"""Real containers for tests: a busybox lower layer and hand-built specs with Docker's default mounts."""

from __future__ import annotations

import os
import secrets
import tarfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from runtime.linux import caps
from runtime.spec import ContainerSpec, Mount, Process, Rootfs, User
from tests.runtime.images.busybox import build_busybox_rootfs_tar

ENV = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=box")
MASKED = (
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
)  # fmt: skip
READONLY = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")


def docker_mounts() -> tuple[Mount, ...]:
    return (
        Mount("/proc", "proc", "proc", ("nosuid", "noexec", "nodev")),
        Mount("/dev", "tmpfs", "tmpfs", ("nosuid", "strictatime", "mode=755", "size=65536k")),
        Mount("/dev/pts", "devpts", "devpts", ("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                                               "gid=5")),
        Mount("/sys", "sysfs", "sysfs", ("nosuid", "noexec", "nodev", "ro")),
        Mount("/sys/fs/cgroup", "cgroup", "cgroup", ("nosuid", "noexec", "nodev", "relatime", "ro")),
        Mount("/dev/mqueue", "mqueue", "mqueue", ("nosuid", "noexec", "nodev")),
        Mount("/dev/shm", "tmpfs", "shm", ("nosuid", "noexec", "nodev", "mode=1777", "size=67108864")),
    )


def busybox_lower(where: Path) -> Path:
    """The busybox rootfs extracted under `where`/lower (built once per directory)."""
    lower = where / "lower"
    if (lower / "bin" / "busybox").exists():
        return lower
    where.mkdir(parents=True, exist_ok=True)
    tar_path = build_busybox_rootfs_tar(where / "busybox.tar")
    lower.mkdir()
    with tarfile.open(tar_path) as tar:
        tar.extractall(lower, filter="fully_trusted")
    tar_path.unlink()
    return lower


def make_spec(base: Path, lower: Path, args: tuple[str, ...] | list[str], prefix: str,
              **overrides: Any) -> ContainerSpec:
    """A Docker-like spec for busybox: bundle under `base`/<id>, default mounts, masks and capabilities."""
    cid = overrides.pop("id", None) or secrets.token_hex(32)
    bundle = base / cid[:12]
    process_fields = {k: overrides.pop(k) for k in ("env", "cwd", "user", "terminal", "capabilities",
                                                     "no_new_privileges", "rlimits", "oom_score_adj")
                      if k in overrides}
    process = Process(tuple(args), env=ENV, capabilities=caps.DOCKER_DEFAULT, user=User(0, 0))
    process = replace(process, **process_fields)
    rootfs = Rootfs((str(lower),), str(bundle / "upper"), str(bundle / "work"), str(bundle / "rootfs"),
                    overrides.pop("readonly", False))
    spec = ContainerSpec(
        id=cid, name="c" + cid[:8], prefix=prefix, bundle=str(bundle), rootfs=rootfs, process=process,
        hostname=cid[:12], mounts=docker_mounts(), masked_paths=MASKED, readonly_paths=READONLY,
        cgroup_name=cid,
    )
    return replace(spec, **overrides)


def unique_prefix() -> str:
    return "pyct" + os.urandom(2).hex()
