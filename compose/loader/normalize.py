"""Whole-project stage: defaults, names, paths, environment and references, as compose-go normalizes.

Runs once on the merged document (after include and profiles). In order:
`version` dropped, project `name` set, the implicit `default` network added
where used, compose's defaults filled in, paths made absolute, each service
finished (implicit dependencies, mount targets cleaned, env/label files read
in), values converted to the types compose stores, resources named
`<project>_<key>`, and every reference checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compose.errors import Mark, warn
from compose.loader.config_order import canonical_order
from compose.loader.marks import MDict, MList
from compose.loader.project_paths import resolve_paths
from compose.loader.references import check_references
from compose.loader.service_env import resolve_service_env
from compose.loader.service_values import apply_defaults, convert_values
from compose.loader.volumes_syntax import go_clean
from compose.loader.walk import mdict, place, positioned

__all__ = ["NormalizeContext", "canonical_order", "normalize"]

_RESOURCES = ("networks", "volumes", "secrets", "configs")
_SHARED_NAMESPACES = ("network_mode", "ipc", "pid", "uts", "cgroup")


@dataclass(frozen=True)
class NormalizeContext:
    project_name: str
    project_dir: Path
    environment: Mapping[str, str]
    # Services switched off by profiles: a non-required dependency on one is not an error.
    disabled_services: frozenset[str] = field(default_factory=frozenset)
    consistency: bool = True  # check every reference (compose-go's checkConsistency)
    resolve_paths: bool = True  # relative paths made absolute
    resolve_env: bool = True  # env_file read into environment, bare names taken from the project's


def normalize(doc: MDict, ctx: NormalizeContext) -> MDict:
    """The merged document as `docker compose config` sees it (positions kept)."""
    out = positioned(doc)  # earlier stages may have left plain dicts; every rule below expects MDicts
    out = out.derive(out)  # positioned shares unchanged containers: write to a copy
    if "version" in out:
        warn("the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential "
             "confusion", out.mark_of("version"))
        del out["version"]
    out["name"] = ctx.project_name
    place(out, "name", out.mark)
    out = _default_network(out)
    out = apply_defaults(out)
    if ctx.resolve_paths:
        out = resolve_paths(out, ctx.project_dir)
    services = out.get("services")
    if isinstance(services, MDict):
        out["services"] = services.derive(
            (name, _service(name, svc, ctx) if isinstance(svc, MDict) else svc) for name, svc in services.items()
        )
    out = convert_values(out)
    for section in _RESOURCES:
        if isinstance(out.get(section), MDict):
            out[section] = _named(out[section], ctx.project_name)
    if ctx.consistency:
        check_references(out, ctx.disabled_services)
    return out


def _default_network(doc: MDict) -> MDict:
    """Services with neither `networks` nor `network_mode` join `default`, declared if anyone uses it."""
    services = doc.get("services")
    if not isinstance(services, MDict):
        return doc
    used = False
    updated = services.derive(services)
    for name, svc in services.items():
        if not isinstance(svc, MDict) or "provider" in svc or "network_mode" in svc:
            continue
        networks = svc.get("networks")
        if not networks:
            svc = svc.derive(svc)
            svc["networks"] = mdict({"default": None}, svc.mark)
            place(svc, "networks", svc.mark)
            updated[name] = svc
            used = True
        elif "default" in networks:
            used = True
    out = doc.derive(doc)
    out["services"] = updated
    top = doc.get("networks")
    if used and not (isinstance(top, Mapping) and "default" in top):
        networks = top.derive(top) if isinstance(top, MDict) else mdict({}, doc.mark)
        networks["default"] = None
        place(networks, "default", networks.mark)
        out["networks"] = networks
        place(out, "networks", doc.mark)
    return out


def _named(section: MDict, project: str) -> MDict:
    """Each resource gets `name`: its key if external, else `<project>_<key>`."""
    out = section.derive(section)
    for key, resource in section.items():
        where = section.mark_of(key)
        res = resource.derive(resource) if isinstance(resource, MDict) else mdict(dict(resource or {}), where)
        if res.get("name") is None:
            res["name"] = key if _is_true(res.get("external")) else f"{project}_{key}"
            if where is not None:
                res.key_marks.setdefault("name", where)
        out[key] = res
    return out


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("1", "t", "true"))


def _service(name: str, svc: MDict, ctx: NormalizeContext) -> MDict:
    out = svc.derive(svc)
    _implicit_dependencies(out)
    volumes = out.get("volumes")
    if isinstance(volumes, list):
        out["volumes"] = _clean_targets(volumes)
    _inherit_hook_image(out)
    return resolve_service_env(name, out, ctx.environment) if ctx.resolve_env else out


def _clean_targets(volumes: list[Any]) -> list[Any]:
    cleaned = []
    for volume in volumes:
        if isinstance(volume, MDict) and isinstance(volume.get("target"), str):
            volume = volume.derive(volume)
            volume["target"] = go_clean(volume["target"])
        cleaned.append(volume)
    return volumes.derive(cleaned) if isinstance(volumes, MList) else cleaned


def _implicit_dependencies(svc: MDict) -> None:
    """links, `service:` namespaces and volumes_from make the service depend on another (in place)."""
    found: list[tuple[str, bool, Mark | None]] = []  # (service, restart, where)
    links = svc.get("links")
    for index, link in enumerate(links if isinstance(links, list) else ()):
        parts = str(link).split(":")
        found.append((parts[0] if len(parts) == 2 else str(link), True, _item_mark(links, index, svc, "links")))
    for key in _SHARED_NAMESPACES:
        ref = svc.get(key)
        if isinstance(ref, str) and ref.startswith("service:"):
            found.append((ref[len("service:"):], True, svc.mark_of(key)))
    volumes_from = svc.get("volumes_from")
    for index, entry in enumerate(volumes_from if isinstance(volumes_from, list) else ()):
        if not str(entry).startswith("container:"):
            found.append((str(entry).split(":")[0], False, _item_mark(volumes_from, index, svc, "volumes_from")))
    if not found:
        return
    existing = svc.get("depends_on")
    depends_on = existing.derive(existing) if isinstance(existing, MDict) else mdict({}, svc.mark)
    for dep, restart, where in found:
        if dep not in depends_on:
            depends_on[dep] = mdict({"condition": "service_started", "restart": restart, "required": True}, where)
            if where is not None:
                depends_on.key_marks[dep] = where
    svc["depends_on"] = depends_on
    place(svc, "depends_on", svc.mark)


def _item_mark(items: Any, index: int, svc: MDict, key: str) -> Mark | None:
    if isinstance(items, MList):
        return items.mark_of(index)
    return svc.mark_of(key)


def _inherit_hook_image(svc: MDict) -> None:
    """`pre_start` hooks without an image run the service's image (compose-spec)."""
    hooks = svc.get("pre_start")
    image = svc.get("image")
    if not isinstance(hooks, list) or not isinstance(image, str) or not image:
        return
    updated = []
    for hook in hooks:
        if isinstance(hook, MDict) and "image" not in hook:
            hook = hook.derive(hook)
            hook["image"] = image
        updated.append(hook)
    svc["pre_start"] = hooks.derive(updated) if isinstance(hooks, MList) else updated
