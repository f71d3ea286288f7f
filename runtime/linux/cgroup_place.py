"""Where a container's cgroup lives: under the engine's own parent (`<prefix>/<id>`), or under
the `CgroupParent` the request named (`<parent>/<id>`, relative to each hierarchy's root, as
dockerd's cgroupfs driver places it). A nested parent's missing levels are made first, each
v1 cpuset level with its parent's cpus and mems (a new cpuset cgroup starts empty).
"""

from __future__ import annotations

import contextlib
import os

from runtime.linux.cgroups import Cgroup, Mounts, _inherit_cpuset, current_mounts
from runtime.spec import ContainerSpec


def place(spec: ContainerSpec) -> tuple[str, str]:
    """(parent path, leaf name) of the container's cgroup."""
    return spec.cgroup_parent or spec.prefix, spec.cgroup_name or spec.id


def create(spec: ContainerSpec, mounts: Mounts | None = None) -> Cgroup:
    parent, name = place(spec)
    mounts = mounts or current_mounts()
    if "/" in parent:
        _make_levels(parent, mounts)
    return Cgroup.create(parent, name, spec.resources, mounts)


def open_cgroup(spec: ContainerSpec) -> Cgroup:
    parent, name = place(spec)
    return Cgroup.open(parent, name)


def _make_levels(parent: str, mounts: Mounts) -> None:
    """Every level above the last of `parent` (Cgroup.create makes the last one)."""
    parts = parent.split("/")[:-1]
    for controller, point in {**mounts.v1, "": mounts.unified or ""}.items():
        if not point:
            continue
        path = point
        for part in parts:
            path = os.path.join(path, part)
            with contextlib.suppress(FileExistsError):
                os.mkdir(path, 0o755)
                if controller == "cpuset":
                    _inherit_cpuset(path)
