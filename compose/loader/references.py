"""Consistency of a normalized project: what compose-go's `checkConsistency` refuses.

Every name a service uses must exist: services it depends on (including the
implicit dependencies from links, volumes_from and `service:` modes),
networks, named volumes, secrets, configs, models. Plus the few local rules
compose enforces at the same point (image or build, exclusive options,
healthcheck test form, scale, duplicate mount targets). Each error points at
the offending entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compose.errors import ComposeFileError, Mark, format_path
from compose.loader.marks import MDict, mark_of


def _err(message: str, where: Mark | None, *path: str | int) -> ComposeFileError:
    return ComposeFileError(message, where, format_path(path) if path else None)


def _section(doc: MDict, key: str) -> Mapping[str, Any]:
    value = doc.get(key)
    return value if isinstance(value, Mapping) else {}


def check_references(doc: MDict, disabled_services: frozenset[str] = frozenset()) -> None:
    """Raise ComposeFileError for the first inconsistency found, in file order."""
    services = doc.get("services")
    if not isinstance(services, MDict):
        return
    for name, service in services.items():
        if isinstance(service, MDict):
            _check_service(doc, services, name, service, disabled_services)
    for key, secret in _section(doc, "secrets").items():
        if isinstance(secret, Mapping) and not secret.get("external") \
                and not secret.get("file") and not secret.get("environment"):
            raise _err(f'secret "{key}" must declare either `file` or `environment`',
                       mark_of(doc.get("secrets"), key), "secrets", key)


def _check_service(doc: MDict, services: MDict, name: str, svc: MDict, disabled: frozenset[str]) -> None:
    where = services.mark_of(name)
    if "build" not in svc and not svc.get("image") and "provider" not in svc:
        raise _err(f'service "{name}" has neither an image nor a build context specified', where,
                   "services", name)
    if svc.get("network_mode") and svc.get("networks"):
        raise _err(f"service {name} declares mutually exclusive `network_mode` and `networks`",
                   svc.mark_of("network_mode"), "services", name, "network_mode")
    networks = _section(doc, "networks")
    for network in svc.get("networks") or {}:
        if network not in networks:
            raise _err(f'service "{name}" refers to undefined network {network}',
                       mark_of(svc.get("networks"), network), "services", name, "networks", network)
    test = (svc.get("healthcheck") or {}).get("test") if isinstance(svc.get("healthcheck"), Mapping) else None
    if isinstance(test, list) and test and test[0] not in ("CMD", "CMD-SHELL", "NONE"):
        raise _err('healthcheck.test must start either by "CMD", "CMD-SHELL" or "NONE"',
                   mark_of(svc.get("healthcheck"), "test"), "services", name, "healthcheck", "test")
    depends_on = svc.get("depends_on") or {}
    for dep, cfg in depends_on.items():
        if dep in services:
            continue
        if dep in disabled and isinstance(cfg, Mapping) and not cfg.get("required", True):
            continue
        raise _err(f'service "{name}" depends on undefined service "{dep}"', mark_of(depends_on, dep),
                   "services", name, "depends_on", dep)
    _check_mounts(doc, name, svc)
    _check_scale(name, svc)


def _check_refs(items: Any, known: Mapping[str, Any], what: str, name: str, *path: str) -> None:
    for index, item in enumerate(items or ()):
        source = item.get("source") if isinstance(item, Mapping) else None
        if source is not None and source not in known:
            raise _err(f'service "{name}" refers to undefined {what} {source}', mark_of(items, index),
                       "services", name, *path, index)


def _check_mounts(doc: MDict, name: str, svc: MDict) -> None:
    volumes = svc.get("volumes") or []
    known_volumes = _section(doc, "volumes")
    for index, volume in enumerate(volumes):
        if isinstance(volume, Mapping) and volume.get("type") == "volume" and volume.get("source") \
                and volume["source"] not in known_volumes:
            raise _err(f'service "{name}" refers to undefined volume {volume["source"]}',
                       mark_of(volumes, index), "services", name, "volumes", index)
    build = svc.get("build")
    if isinstance(build, Mapping):
        _check_refs(build.get("secrets"), _section(doc, "secrets"), "build secret", name, "build", "secrets")
    _check_refs(svc.get("configs"), _section(doc, "configs"), "config", name, "configs")
    _check_refs(svc.get("secrets"), _section(doc, "secrets"), "secret", name, "secrets")
    models = _section(doc, "models")
    for model in svc.get("models") or {}:
        if model not in models:
            raise _err(f'service "{name}" refers to undefined model {model}', mark_of(svc.get("models"), model),
                       "services", name, "models", model)
    mounted: dict[str, str] = {}
    for index, tmpfs in enumerate(svc.get("tmpfs") or ()):
        loc = f"services.{name}.tmpfs[{index}]"
        target = str(tmpfs).partition(":")[0]
        if target in mounted:
            raise _err(f"{loc}: target {target} already mounted as {mounted[target]}",
                       mark_of(svc.get("tmpfs"), index))
        mounted[target] = loc
    for index, volume in enumerate(volumes):
        mount_target = volume.get("target") if isinstance(volume, Mapping) else None
        if not isinstance(mount_target, str):
            continue
        loc = f"services.{name}.volumes[{index}]"
        if mount_target in mounted:
            raise _err(f"{loc}: target {mount_target} already mounted as {mounted[mount_target]}",
                       mark_of(volumes, index))
        mounted[mount_target] = loc


def _check_scale(name: str, svc: MDict) -> None:
    deploy = svc.get("deploy") if isinstance(svc.get("deploy"), Mapping) else {}
    replicas = deploy.get("replicas") if deploy else None
    scale = svc.get("scale")
    if scale is not None and replicas is not None and scale != replicas:
        raise _err(f"services.{name}: can't set distinct values on 'scale' and 'deploy.replicas'",
                   svc.mark_of("scale"))
    for value, key in ((scale, "scale"), (replicas, "deploy.replicas")):
        if isinstance(value, int) and value < 0:
            raise _err(f"services.{name}.{key}: must be greater than or equal to 0", svc.mark_of(key.split(".")[0]))
    effective = scale if scale is not None else replicas if replicas is not None else 1
    if isinstance(effective, int) and effective > 1 and svc.get("container_name"):
        attr = "scale" if scale is not None else "deploy.replicas"
        raise _err(f"services.{name}: can't set container_name and {attr} as container name must be unique",
                   svc.mark_of("container_name"))
