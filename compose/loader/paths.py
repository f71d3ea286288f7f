"""Relative paths in a compose document made absolute against a folder.

Used wherever a document leaves the folder its paths were written for: an
included project, a service extended from another file, and the project
itself at normalization.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from compose.loader.marks import MDict, MList

_REMOTE_PREFIXES = ("http://", "https://", "git://", "git@", "github.com/", "ssh://")


def is_remote(context: str) -> bool:
    return context.startswith(_REMOTE_PREFIXES) or "://" in context


def resolve(base: Path, value: str) -> str:
    """`value` as an absolute path: `~` expanded, relative ones joined to `base`."""
    expanded = os.path.expanduser(value)
    if os.path.isabs(expanded):
        return os.path.normpath(expanded)
    return os.path.normpath(os.path.join(base, expanded))


def _with(node: MDict, key: str, value: Any) -> MDict:
    out = node.derive(node)
    out[key] = value
    return out


def _resolve_list(items: Any, base: Path, key: str) -> Any:
    if not isinstance(items, list):
        return items
    out = []
    for item in items:
        if isinstance(item, MDict) and isinstance(item.get(key), str):
            item = _with(item, key, resolve(base, item[key]))
        out.append(item)
    return items.derive(out) if isinstance(items, MList) else out


def _resolve_volumes(volumes: Any, base: Path) -> Any:
    if not isinstance(volumes, list):
        return volumes
    out = []
    for item in volumes:
        if (
            isinstance(item, MDict)
            and item.get("type") == "bind"
            and isinstance(item.get("source"), str)
        ):
            item = _with(item, "source", resolve(base, item["source"]))
        out.append(item)
    return volumes.derive(out) if isinstance(volumes, MList) else out


def absolutize_service(service: MDict, base: Path) -> MDict:
    """One service (long forms) with its file paths resolved against `base`."""
    out = service.derive(service)
    build = out.get("build")
    if isinstance(build, MDict) and isinstance(build.get("context"), str) and not is_remote(build["context"]):
        out["build"] = _with(build, "context", resolve(base, build["context"]))
    if "volumes" in out:
        out["volumes"] = _resolve_volumes(out["volumes"], base)
    if "env_file" in out:
        out["env_file"] = _resolve_list(out["env_file"], base, "path")
    label_file = out.get("label_file")
    if isinstance(label_file, str):
        out["label_file"] = resolve(base, label_file)
    elif isinstance(label_file, list):
        out["label_file"] = label_file.__class__(resolve(base, f) if isinstance(f, str) else f for f in label_file)
    extends = out.get("extends")
    if isinstance(extends, MDict) and isinstance(extends.get("file"), str):
        out["extends"] = _with(extends, "file", resolve(base, extends["file"]))
    develop = out.get("develop")
    if isinstance(develop, MDict) and "watch" in develop:
        out["develop"] = _with(develop, "watch", _resolve_list(develop["watch"], base, "path"))
    return out


def absolutize(doc: MDict, base: Path) -> MDict:
    """A whole document with its file paths resolved against `base`."""
    out = doc.derive(doc)
    services = out.get("services")
    if isinstance(services, MDict):
        out["services"] = services.derive(
            (name, absolutize_service(svc, base) if isinstance(svc, MDict) else svc)
            for name, svc in services.items()
        )
    for kind in ("secrets", "configs"):
        section = out.get(kind)
        if isinstance(section, MDict):
            out[kind] = section.derive(
                (name, _with(item, "file", resolve(base, item["file"]))
                 if isinstance(item, MDict) and isinstance(item.get("file"), str) else item)
                for name, item in section.items()
            )
    return out
