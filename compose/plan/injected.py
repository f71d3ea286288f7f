"""Secrets and configs of a service: read-only binds, or files copied into the container.

As Docker Compose does: a `file:` secret or config is bind-mounted read-only
at its target; one from `environment:` or `content:` is written into the
container after create and before start (`PUT /containers/{id}/archive`),
mode 0444 unless `mode` says otherwise, owned by `uid`/`gid` (default root).
Docker Compose ignores `uid`/`gid`/`mode` on `file:` ones with a warning;
we honour them by copying the file in instead of binding it (the copy does
not follow later edits of the host file).

Targets: a secret goes to `/run/secrets/<source>` by default, a relative
target under `/run/secrets/`; a config to `/<source>`, a relative target
under `/`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compose.errors import ComposeError
from compose.model import Project

SECRETS_DIR = "/run/secrets"
CONFIGS_DIR = "/"
DEFAULT_MODE = 0o444
_SECTIONS = (("secrets", "secret", SECRETS_DIR), ("configs", "config", CONFIGS_DIR))


@dataclass(frozen=True)
class FileRef:
    """One secret or config as a service uses it."""

    kind: str  # "secret" or "config"
    source: str
    target: str  # absolute path in the container
    definition: Mapping[str, Any]
    uid: int | None
    gid: int | None
    mode: int | None


def _number(value: Any, what: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ComposeError(f"{what}: expected a number, got {value!r}") from None


def file_refs(project: Project, cfg: Mapping[str, Any]) -> list[FileRef]:
    """The service's secrets and configs, with their final targets."""
    out = []
    for section, kind, base in _SECTIONS:
        defined = getattr(project, section)
        for ref in cfg.get(section) or ():
            entry = ref if isinstance(ref, Mapping) else {"source": ref}
            source = str(entry["source"])
            resource = defined.get(source)
            if resource is None:
                raise ComposeError(f"service refers to undefined {kind} {source}")
            if resource.external:
                raise ComposeError(f"unsupported external {kind} {resource.name}")
            target = str(entry.get("target") or source)
            where = f"{kind} {source}"
            out.append(FileRef(kind, source, posixpath.join(base, target), resource.config,
                               _number(entry.get("uid"), f"{where}: uid"), _number(entry.get("gid"), f"{where}: gid"),
                               _number(entry.get("mode"), f"{where}: mode")))
    return out


def _copied(ref: FileRef) -> bool:
    return not ref.definition.get("file") or any(v is not None for v in (ref.uid, ref.gid, ref.mode))


def bind_mounts(project: Project, cfg: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`file:` secrets and configs without uid/gid/mode, as read-only bind mounts."""
    return [{"Type": "bind", "Source": ref.definition["file"], "Target": ref.target, "ReadOnly": True}
            for ref in file_refs(project, cfg) if not _copied(ref)]


def copied_files(project: Project, cfg: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What to write into the container before it starts: path (relative to /), mode, owner, and
    `content` or a host `file` to read."""
    out = []
    for ref in file_refs(project, cfg):
        if not _copied(ref):
            continue
        entry: dict[str, Any] = {"name": ref.target.lstrip("/"), "mode": DEFAULT_MODE if ref.mode is None else ref.mode,
                                 "uid": ref.uid or 0, "gid": ref.gid or 0}
        definition = ref.definition
        if definition.get("file"):
            entry["file"] = str(definition["file"])
        elif definition.get("environment"):
            variable = str(definition["environment"])
            if variable not in project.environment:
                raise ComposeError(f'environment variable "{variable}" required by {ref.kind} "{ref.source}" '
                                   "is not set")
            entry["content"] = project.environment[variable]
        elif "content" in definition:
            entry["content"] = str(definition["content"])
        else:
            raise ComposeError(f'{ref.kind} "{ref.source}" has no file, environment or content')
        out.append(entry)
    return out
