"""A container's mounts and the pod volumes behind them; PVCs for named volumes.

named volume -> PersistentVolumeClaim (a StatefulSet's: a volumeClaimTemplate), bind -> hostPath
(warned: it exists only on the node), tmpfs -> emptyDir in memory, anonymous volume -> emptyDir,
configs -> the config's ConfigMap, secrets -> the secret's Secret, each file mounted with subPath.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from compose.convert.data import data_key
from compose.convert.names import VOLUME_SIZE_LABEL, dns_label, metadata
from compose.convert.quantities import memory
from compose.convert.types import Manifest, Unconverted
from compose.model import Project, Service

DEFAULT_CLAIM_SIZE = "100Mi"


@dataclass
class Mounts:
    """What one container mounts and the pod volumes it needs (by volume name)."""

    mounts: list[dict[str, Any]] = field(default_factory=list)
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)
    claims: list[str] = field(default_factory=list)  # named volumes, for volumeClaimTemplates


def claim_name(volume_key: str) -> str:
    return dns_label(volume_key)


def claim_spec(project: Project, key: str) -> dict[str, Any]:
    res = project.volumes.get(key)
    labels = (res.config.get("labels") or {}) if res is not None else {}
    size = labels.get(VOLUME_SIZE_LABEL, DEFAULT_CLAIM_SIZE)
    return {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": str(size)}}}


def service_mounts(project: Project, svc: Service, statefulset: bool, warn: list[Unconverted]) -> Mounts:
    out = Mounts()
    prefix = dns_label(svc.name, 40)
    for index, vol in enumerate(svc.config.get("volumes") or ()):
        _volume(project, svc, vol, index, prefix, statefulset, out, warn)
    for entry in svc.config.get("volumes_from") or ():
        _volumes_from(project, svc, str(entry), statefulset, out, warn)
    for index, entry in enumerate(svc.config.get("tmpfs") or ()):
        target, _, opts = str(entry).partition(":")
        name = f"{prefix}-tmpfs{index}"
        out.volumes[name] = {"emptyDir": {"medium": "Memory"}}
        out.mounts.append({"name": name, "mountPath": target})
        if opts:
            warn.append(Unconverted(svc.name, "tmpfs", f"options {opts!r} of {target} are not converted"))
    for section, kind in (("configs", "configMap"), ("secrets", "secret")):
        for ref in svc.config.get(section) or ():
            _file(svc, section, kind, ref, out, warn)
    return out


def _volumes_from(project: Project, svc: Service, entry: str, statefulset: bool, out: Mounts,
                  warn: list[Unconverted]) -> None:
    """`volumes_from: [other[:ro]]`: the other service's named volumes and binds, as kompose shares them
    (its claims); a container's, or an anonymous volume (one per pod), cannot be shared."""
    name, _, mode = entry.partition(":")
    other = project.services.get(name)
    if name == "container" or other is None:
        warn.append(Unconverted(svc.name, "volumes_from", f"{entry} is not converted: only services can share"))
        return
    mine = {m["mountPath"] for m in out.mounts}
    for index, vol in enumerate(other.config.get("volumes") or ()):
        if vol.get("type") not in ("volume", "bind") or str(vol.get("target")) in mine:
            continue
        if not vol.get("source"):
            warn.append(Unconverted(svc.name, "volumes_from", f"the anonymous volume {vol.get('target')} of "
                                    f"{name} is not shared: each pod has its own"))
            continue
        shared = {**vol, "read_only": True} if mode == "ro" else vol
        _volume(project, other, shared, index, dns_label(other.name, 40), statefulset, out, warn)


def _volume(project: Project, svc: Service, vol: Mapping[str, Any], index: int, prefix: str,
            statefulset: bool, out: Mounts, warn: list[Unconverted]) -> None:
    kind, target, source = vol.get("type"), str(vol.get("target")), vol.get("source")
    mount: dict[str, Any] = {"mountPath": target}
    if vol.get("read_only"):
        mount["readOnly"] = True
    if kind == "volume" and source:
        name = claim_name(str(source))
        res = project.volumes.get(str(source))
        if statefulset:
            out.claims.append(str(source))
        else:
            out.volumes[name] = {"persistentVolumeClaim": {"claimName": name}}
        if (vol.get("volume") or {}).get("subpath"):
            mount["subPath"] = str(vol["volume"]["subpath"])
        if res is not None and (res.config.get("driver") or res.config.get("driver_opts")):
            warn.append(Unconverted(f"volumes.{source}", "driver",
                                    "driver and driver_opts are not converted: the claim uses the default "
                                    "StorageClass"))
    elif kind == "volume":
        name = f"{prefix}-anon{index}"
        out.volumes[name] = {"emptyDir": {}}
    elif kind == "bind":
        name = f"{prefix}-host{index}"
        out.volumes[name] = {"hostPath": {"path": str(source)}}
        warn.append(Unconverted(svc.name, "volumes",
                                f"bind mount of {source} becomes a hostPath volume: it must exist on the node"))
    elif kind == "tmpfs":
        name = f"{prefix}-tmpfs-v{index}"
        empty: dict[str, Any] = {"medium": "Memory"}
        size = (vol.get("tmpfs") or {}).get("size")
        if size is not None:
            empty["sizeLimit"] = memory(size)
        out.volumes[name] = {"emptyDir": empty}
    else:
        warn.append(Unconverted(svc.name, "volumes", f"a {kind} mount on {target} is not converted"))
        return
    mount["name"] = name
    out.mounts.append(mount)


def _file(svc: Service, section: str, kind: str, ref: Mapping[str, Any], out: Mounts,
          warn: list[Unconverted]) -> None:
    key = str(ref.get("source"))
    default = f"/run/secrets/{key}" if section == "secrets" else f"/{key}"
    target = str(ref.get("target") or default)
    if not posixpath.isabs(target):
        target = posixpath.join("/run/secrets", target)
    name = dns_label(f"{section[:-1]}-{key}")
    source: dict[str, Any] = {"items": [{"key": data_key(key), "path": data_key(key)}]}
    source["secretName" if kind == "secret" else "name"] = dns_label(key, 253)
    if ref.get("mode") is not None:
        source["defaultMode"] = int(ref["mode"]) if not isinstance(ref["mode"], str) else int(ref["mode"], 8)
    if ref.get("uid") is not None or ref.get("gid") is not None:
        warn.append(Unconverted(svc.name, section, f"uid/gid of {key} are not converted (use fsGroup)"))
    out.volumes[name] = {kind: source}
    out.mounts.append({"name": name, "mountPath": target, "subPath": data_key(key), "readOnly": True})


def claims(project: Project, used: Iterable[str], warn: list[Unconverted]) -> list[Manifest]:
    """A PVC per named volume (key) a pod mounts through a shared claim."""
    out = []
    for key in sorted(used):
        res = project.volumes.get(key)
        name = claim_name(key)
        if res is not None and res.external:
            warn.append(Unconverted(f"volumes.{key}", "external",
                                    f"not created: a PersistentVolumeClaim named {name} must exist"))
            continue
        out.append(Manifest("PersistentVolumeClaim", name, {
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": metadata(name, project.name, labels={"io.kompose.volume": name}),
            "spec": claim_spec(project, key),
        }))
    return out
