"""Mounting a volume's device at its `_data` directory, in the host's mount namespace, and unmounting it.

The mount point sits under the engine root, so it carries the engine's
state path (`/var/lib/pycompose/...` or a test's `/tmp/pyc-...`) and a leak
check can see it. Whether something is mounted is asked of the kernel
(mountinfo), not remembered: a mount outlives an engine restart.
"""

from __future__ import annotations

import os
from pathlib import Path

from runtime.linux import syscalls as sc
from runtime.linux.mounts import mount_points, remount_bind, unmount_tree
from runtime.volumes.errors import VolumeFailure
from runtime.volumes.options import DeviceMount


def is_mounted(path: Path) -> bool:
    return os.path.realpath(path) in set(mount_points())


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below `path` (in this namespace)."""
    real = os.path.realpath(path)
    return [p for p in mount_points() if p == real or p.startswith(real + "/")]


def mount_device(target: Path, plan: DeviceMount) -> None:
    """Mount the volume's device at `target` (moby's mount.Mount sequence); VolumeFailure with its text."""
    where = os.path.realpath(target)
    try:
        sc.mount(plan.device, where, plan.fstype or None, plan.flags, plan.data or None)
    except OSError as exc:
        raise VolumeFailure(f"failed to mount local volume: {plan.describe(where)}: {_reason(exc)}") from exc
    try:
        if plan.propagation:
            sc.mount(None, where, None, plan.propagation)
        if plan.bind_remount or plan.bind_clear:
            remount_bind(where, plan.bind_remount, plan.bind_clear)
    except OSError as exc:
        unmount_tree(where)
        raise VolumeFailure(f"failed to mount local volume: {plan.describe(where)}: {_reason(exc)}") from exc


def unmount(path: Path) -> None:
    """Detach whatever is mounted at or under `path`; VolumeFailure if something stays."""
    try:
        unmount_tree(os.path.realpath(path))
    except OSError as exc:
        raise VolumeFailure(f"failed to unmount local volume {path}: {_reason(exc)}") from exc
    left = mounts_under(path)
    if left:
        raise VolumeFailure(f"failed to unmount local volume {path}: still mounted: {', '.join(left)}")


def _reason(exc: OSError) -> str:
    """Go's errno text: the C library's, lower case first letter."""
    text = os.strerror(exc.errno) if exc.errno else str(exc)
    return text[:1].lower() + text[1:]
