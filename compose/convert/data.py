"""ConfigMaps (compose `configs`, a service's environment and env_files) and Secrets (`secrets`)."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from compose.convert.names import dns_label, metadata
from compose.convert.types import Manifest, Unconverted
from compose.model import Project, Resource, Service

# What a ConfigMap or Secret key may be.
_DATA_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
# What an environment variable may be called (before Kubernetes 1.34 relaxed it).
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


def env_configmap_name(service: str) -> str:
    return dns_label(f"{service}-env", 253)


def data_key(name: str) -> str:
    """The key a config's or secret's content has in its ConfigMap or Secret."""
    return name if _DATA_KEY.match(name) and len(name) <= 253 else dns_label(name)


def service_env(svc: Service, warn: list[Unconverted]) -> dict[str, str]:
    """The environment (env_file contents already in it, as compose merges them) a ConfigMap holds:
    names Kubernetes 1.30 takes for variables; an unset variable or another name is warned about."""
    out: dict[str, str] = {}
    for key, value in sorted(svc.environment.items()):
        if value is None:
            warn.append(Unconverted(svc.name, "environment", f"{key} has no value (unset variable): left out"))
        elif not _ENV_NAME.match(key):
            warn.append(Unconverted(svc.name, "environment", f"{key!r} is not a variable name Kubernetes 1.30 "
                                    "takes: left out"))
        else:
            out[key] = value
    return out


def env_configmaps(project: Project, warn: list[Unconverted]) -> list[Manifest]:
    out = []
    for svc in project.services.values():
        in_map = service_env(svc, [])
        if in_map:
            name = env_configmap_name(svc.name)
            out.append(Manifest("ConfigMap", name, {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": metadata(name, project.name, svc.name), "data": in_map,
            }))
    return out


def _content(project: Project, res: Resource, section: str, warn: list[Unconverted]) -> bytes | None:
    cfg: Mapping[str, Any] = res.config
    if "content" in cfg:
        return str(cfg["content"]).encode()
    if "environment" in cfg:
        value = project.environment.get(str(cfg["environment"]))
        if value is None:
            warn.append(Unconverted(f"{section}.{res.key}", "environment",
                                    f"variable {cfg['environment']} is not set: the object is empty"))
        return (value or "").encode()
    if "file" in cfg:
        path = Path(str(cfg["file"]))
        try:
            return path.read_bytes()
        except OSError as exc:
            warn.append(Unconverted(f"{section}.{res.key}", "file", f"cannot read {path}: {exc.strerror}"))
            return None
    return None


def _used(project: Project, section: str, key: str) -> bool:
    return any(isinstance(ref, Mapping) and ref.get("source") == key
               for svc in project.services.values() for ref in svc.config.get(section) or ())


def configmaps(project: Project, warn: list[Unconverted]) -> list[Manifest]:
    """One ConfigMap per compose config a service uses, named after the config."""
    out = []
    for key, res in sorted(project.configs.items()):
        if not _used(project, "configs", key):
            continue
        if res.external:
            warn.append(Unconverted(f"configs.{key}", "external",
                                    f"not created: a ConfigMap named {dns_label(key, 253)} must exist"))
            continue
        content = _content(project, res, "configs", warn)
        if content is None:
            continue
        name = dns_label(key, 253)
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": metadata(name, project.name)}
        try:
            body["data"] = {data_key(key): content.decode()}
        except UnicodeDecodeError:
            body["binaryData"] = {data_key(key): base64.b64encode(content).decode()}
        out.append(Manifest("ConfigMap", name, body))
    return out


def secrets(project: Project, warn: list[Unconverted]) -> list[Manifest]:
    """One Opaque Secret per compose secret a service uses, named after the secret."""
    out = []
    for key, res in sorted(project.secrets.items()):
        if not _used(project, "secrets", key):
            continue
        if res.external:
            warn.append(Unconverted(f"secrets.{key}", "external",
                                    f"not created: a Secret named {dns_label(key, 253)} must exist"))
            continue
        content = _content(project, res, "secrets", warn)
        if content is None:
            continue
        name = dns_label(key, 253)
        out.append(Manifest("Secret", name, {
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": metadata(name, project.name),
            "data": {data_key(key): base64.b64encode(content).decode()},
        }))
    return out
