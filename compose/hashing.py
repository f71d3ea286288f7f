"""The service config hash stored in the `com.docker.compose.config-hash` label.

Changes that do not need a new container are left out (as Docker Compose
does): build, scale/replicas, depends_on, profiles, pull_policy. The content
of files the container sees (configs and secrets from `file`) is put in, so
editing one recreates the service; env_file content is already part of
`environment` after normalization.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from compose.loader.marks import plain

_EXCLUDED = ("build", "scale", "depends_on", "profiles", "pull_policy")


def service_hash(name: str, doc: Mapping[str, Any]) -> str:
    service = dict(plain(doc["services"][name]))
    for key in _EXCLUDED:
        service.pop(key, None)
    deploy = dict(service.get("deploy") or {})
    if deploy:
        deploy.pop("replicas", None)
        service["deploy"] = deploy
    files: dict[str, str] = {}
    for kind in ("configs", "secrets"):
        for ref in service.get(kind) or ():
            source = ref.get("source") if isinstance(ref, Mapping) else ref
            definition = (doc.get(kind) or {}).get(source) or {}
            if isinstance(definition, Mapping):
                files[f"{kind}/{source}"] = _file_digest(definition)
    payload = json.dumps({"service": service, "files": files}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def _file_digest(definition: Mapping[str, Any]) -> str:
    if "content" in definition:
        return hashlib.sha256(str(definition["content"]).encode()).hexdigest()
    if "file" in definition:
        try:
            return hashlib.sha256(Path(definition["file"]).read_bytes()).hexdigest()
        except OSError:
            return "unreadable"
    return json.dumps(plain(definition), sort_keys=True)
