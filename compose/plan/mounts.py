"""`Binds` and `Mounts` of a container create body, from the service's typed mounts.

Follows what Docker Compose sends: bind mounts that may create their host
path go in `Binds` (the `Mounts` API refuses a missing source), everything
else in `Mounts`; the anonymous volumes of the container being replaced are
kept; `file:` secrets and configs are read-only binds (plan/injected.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from compose.model import Mount, Project, Service
from compose.observed import ObservedMount
from compose.plan.injected import bind_mounts


def drop_empty(values: dict[str, Any]) -> dict[str, Any]:
    """Leave out what the service does not set, so the engine applies its defaults."""
    return {k: v for k, v in values.items() if v is not None and v != [] and v != {}}


def _bind_string(mount: Mount) -> str:
    options = ["ro"] if mount.read_only else []
    options += [o for o in (mount.selinux, mount.propagation) if o]
    tail = f":{','.join(options)}" if options else ""
    return f"{mount.source}:{mount.target}{tail}"


def _mount(project: Project, mount: Mount) -> dict[str, Any]:
    out: dict[str, Any] = {"Type": mount.type, "Target": mount.target}
    if mount.type == "volume" and mount.source:
        resource = project.volumes.get(mount.source)
        out["Source"] = resource.name if resource else mount.source
    elif mount.source:
        out["Source"] = mount.source
    if mount.read_only:
        out["ReadOnly"] = True
    if mount.type == "volume" and (mount.nocopy or mount.subpath):
        out["VolumeOptions"] = drop_empty({"NoCopy": mount.nocopy, "Subpath": mount.subpath})
    elif mount.type == "bind" and mount.propagation:
        out["BindOptions"] = {"Propagation": mount.propagation}
    elif mount.type == "tmpfs" and (mount.size is not None or mount.mode is not None):
        out["TmpfsOptions"] = drop_empty({"SizeBytes": mount.size, "Mode": mount.mode})
    elif mount.type == "image" and mount.subpath:
        out["ImageOptions"] = {"Subpath": mount.subpath}
    return out


def _kept(old: ObservedMount) -> dict[str, Any]:
    return {"Type": "volume", "Source": old.name, "Target": old.destination, "ReadOnly": not old.rw}


def mounts(
    project: Project, service: Service, inherited: Sequence[ObservedMount] = ()
) -> tuple[list[str], list[dict[str, Any]]]:
    """(Binds, Mounts); anonymous volumes of the replaced container are kept unless renewed."""
    binds: list[str] = []
    out: list[dict[str, Any]] = []
    named = {v.name for v in project.volumes.values()}
    declared = {m.target: m for m in service.volumes}
    reuse = {
        m.destination: m for m in inherited
        if m.type == "volume" and m.name and m.name not in named
        and not (m.destination in declared and declared[m.destination].source)
    }
    for mount in service.volumes:
        if mount.type == "bind" and mount.create_host_path:
            binds.append(_bind_string(mount))
        elif mount.target in reuse:
            out.append(_kept(reuse.pop(mount.target)))
        else:
            out.append(_mount(project, mount))
    out += [_kept(old) for old in reuse.values()]  # image VOLUMEs the service does not declare
    return binds, out + bind_mounts(project, service.config)
