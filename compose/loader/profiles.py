"""Profiles stage: keep the services the enabled profiles (and the command line) ask for.

As Docker Compose does: a service without `profiles` is always active; one
with profiles is active when one of them is enabled (`*` enables all); a
service named on the command line is active and enables its own profiles,
so services sharing one of them come along. Inactive services are dropped.

An active service may not need an inactive one: a `depends_on` entry that is
required, `links`, `volumes_from` and `service:` namespaces (network_mode,
ipc, pid, uts, cgroup) pointing at one are errors. An optional `depends_on`
entry on an inactive service is dropped (compose ignores it too).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

from compose.errors import ComposeFileError, Mark, format_path
from compose.loader.marks import MDict, mark_of

_NAMESPACES = ("network_mode", "ipc", "pid", "uts", "cgroup")


def all_profiles(doc: Mapping[str, Any]) -> list[str]:
    """Every profile named by a service, sorted (for `config --profiles`)."""
    found: set[str] = set()
    for service in _services(doc).values():
        found.update(str(p) for p in _profiles_of(service))
    return sorted(found)


def apply_profiles(doc: Mapping[str, Any], enabled: Collection[str], requested: Sequence[str] = (),
                   check: bool = True) -> MDict:
    """`doc` with only its active services; `doc` is not changed. `check`: refuse needs of inactive services."""
    services = _services(doc)
    for name in requested:
        if name not in services:
            raise ComposeFileError(f"no such service: {name}")
    profiles = set(enabled)
    for name in requested:
        profiles.update(str(p) for p in _profiles_of(services[name]))
    active = {name for name, service in services.items() if _is_active(service, profiles)}
    for name in active if check else ():
        _check_references(name, services, active)
    out = doc.derive(doc.items()) if isinstance(doc, MDict) else MDict(doc)
    if "services" not in doc:
        return out
    kept = _subset(services, active)
    for name in kept:
        kept[name] = _without_optional_deps(kept[name], active, services)
    out["services"] = kept
    return out


def _subset(mapping: Mapping[str, Any], keys: Collection[str]) -> MDict:
    """The entries of `mapping` whose key is in `keys`, positions kept."""
    out = mapping.derive(()) if isinstance(mapping, MDict) else MDict()
    out.update((k, v) for k, v in mapping.items() if k in keys)
    out.key_marks = {k: m for k, m in out.key_marks.items() if k in keys}
    return out


def _services(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    services = doc.get("services")
    return services if isinstance(services, Mapping) else MDict()


def _profiles_of(service: Any) -> list[Any]:
    profiles = service.get("profiles") if isinstance(service, Mapping) else None
    return list(profiles) if isinstance(profiles, list) else []


def _is_active(service: Any, profiles: set[str]) -> bool:
    own = _profiles_of(service)
    return not own or "*" in profiles or any(str(p) in profiles for p in own)


def _check_references(name: str, services: Mapping[str, Any], active: set[str]) -> None:
    for target, mark, path in _references(name, services[name]):
        if target in services and target not in active:
            disabled_by = ", ".join(str(p) for p in _profiles_of(services[target]))
            raise ComposeFileError(
                f'service "{name}" depends on service "{target}" which is disabled by profile(s): '
                f"{disabled_by}; enable one of them with --profile",
                mark,
                format_path(path),
            )


def _references(name: str, service: Any) -> Iterator[tuple[str, Mark | None, tuple[str | int, ...]]]:
    """(service named, where, key path) for every hard reference to another service."""
    if not isinstance(service, Mapping):
        return
    base: tuple[str | int, ...] = ("services", name)
    depends_on = service.get("depends_on")
    if isinstance(depends_on, Mapping):
        for target, how in depends_on.items():
            if _required(how):
                yield target, mark_of(depends_on, target), (*base, "depends_on", target)
    elif isinstance(depends_on, list):
        for i, target in enumerate(depends_on):
            yield str(target), mark_of(depends_on, i), (*base, "depends_on", i)
    for key in ("links", "volumes_from"):  # `name[:alias]`, `name[:mode]`
        entries = service.get(key)
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            text = str(entry)
            if not text.startswith("container:"):
                yield text.split(":")[0], mark_of(entries, i), (*base, key, i)
    for key in _NAMESPACES:
        value = service.get(key)
        if isinstance(value, str) and value.startswith("service:"):
            yield value[len("service:"):], mark_of(service, key), (*base, key)


def _required(how: Any) -> bool:
    return not (isinstance(how, Mapping) and how.get("required") is False)


def _without_optional_deps(service: Any, active: set[str], services: Mapping[str, Any]) -> Any:
    depends_on = service.get("depends_on") if isinstance(service, Mapping) else None
    if not isinstance(depends_on, Mapping):
        return service
    wanted = [t for t in depends_on if t not in services or t in active]
    if len(wanted) == len(depends_on):
        return service
    out = service.derive(service.items()) if isinstance(service, MDict) else MDict(service)
    out["depends_on"] = _subset(depends_on, wanted)
    return out
