"""Build secrets and additional contexts, through the pycompose engine's extension of `POST /build`.

The classic builder protocol cannot carry them, so compose sends them only to an engine whose
`/version` says it is ours (`Platform.Name` "pycompose engine"); to any other engine a build
that uses them is refused in one line. The extension (docs/architecture.md, and the engine's
runtime/build/named.py, whose names these mirror):

- secrets: header `X-Pycompose-Build-Secrets`, base64url JSON `{"<id>": "<base64 content>"}`;
- additional contexts: query `namedcontexts`, JSON `{"<name>": "docker-image://<ref>" |
  "local:<n>"}`, a local folder's files in the context tar under `.pycompose-named-contexts/<n>/`
  (its own `.dockerignore` applied).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compose.errors import ComposeError

SECRETS_HEADER = "X-Pycompose-Build-Secrets"
CONTEXTS_PARAM = "namedcontexts"
PREFIX = ".pycompose-named-contexts"
IMAGE = "docker-image://"
OUR_PLATFORM = "pycompose engine"


@dataclass(frozen=True)
class BuildSecret:
    id: str
    file: Path | None = None  # a `file:` secret, read when the build is sent
    value: str | None = None  # an `environment:` secret's value


def is_ours(version: Mapping[str, Any]) -> bool:
    platform = version.get("Platform")
    return isinstance(platform, Mapping) and platform.get("Name") == OUR_PLATFORM


def secrets_header(secrets: tuple[BuildSecret, ...], service: str) -> dict[str, str]:
    if not secrets:
        return {}
    doc: dict[str, str] = {}
    for secret in secrets:
        if secret.file is not None:
            try:
                data = secret.file.read_bytes()
            except OSError as exc:
                raise ComposeError(f'service "{service}": build: secret {secret.id}: {secret.file}: '
                                   f"{exc.strerror}") from None
        else:
            data = (secret.value or "").encode()
        doc[secret.id] = base64.b64encode(data).decode()
    return {SECRETS_HEADER: base64.urlsafe_b64encode(json.dumps(doc).encode()).decode()}


def local_token(index: int) -> str:
    return format(index, "x")


def contexts_param(named: Mapping[str, str]) -> str:
    """The `namedcontexts` parameter: local folders by their index in `named` (sorted by name)."""
    doc = {}
    for index, (name, source) in enumerate(sorted(named.items())):
        doc[name] = source if source.startswith(IMAGE) else f"local:{local_token(index)}"
    return json.dumps(doc, separators=(",", ":"))


def local_folders(named: Mapping[str, str]) -> list[tuple[str, Path]]:
    """(the folder's name in the tar under PREFIX, the folder) of each local additional context."""
    return [(local_token(index), Path(source)) for index, (_name, source) in enumerate(sorted(named.items()))
            if not source.startswith(IMAGE)]


def parse_sources(service: str, raw: Any, images: Mapping[str, str], working_dir: Path) -> dict[str, str]:
    """`additional_contexts` as name -> absolute folder or `docker-image://ref` (`service:x` is the
    image service x builds or runs); other sources are refused in one line."""
    out: dict[str, str] = {}
    items = raw.items() if isinstance(raw, Mapping) else (str(x).partition("=")[::2] for x in raw or ())
    for name, value in items:
        text = str(value)
        where = f'service "{service}": build: additional_contexts: {name}'
        if text.startswith(IMAGE):
            if not text[len(IMAGE):]:
                raise ComposeError(f"{where}: no image after {IMAGE}")
            out[str(name)] = text
        elif text.startswith("service:"):
            other = text[len("service:"):]
            if other not in images:
                raise ComposeError(f"{where}: no service {other!r} in the project")
            out[str(name)] = IMAGE + images[other]
        elif "://" in text or text.startswith("git@"):
            raise ComposeError(f"{where}: {text}: only folders, docker-image:// and service: are supported")
        else:
            folder = working_dir / text
            if not folder.is_dir():
                raise ComposeError(f"{where}: {folder} is not a folder" if folder.exists()
                                   else f"{where}: {folder}: no such file or directory")
            out[str(name)] = str(folder)
    return out


def parse_secrets(service: str, raw: Any, defined: Mapping[str, Any],
                  environment: Mapping[str, str]) -> tuple[BuildSecret, ...]:
    """`build.secrets` against the project's `secrets:` (file or environment ones, as docker compose)."""
    out = []
    for entry in raw or ():
        entry = {"source": entry} if isinstance(entry, str) else entry
        source = str(entry.get("source") or "")
        ident = str(entry.get("target") or source)
        resource = defined.get(source)
        where = f'service "{service}": build: secret {source}'
        if resource is None:
            raise ComposeError(f"{where}: undefined secret")
        config = getattr(resource, "config", resource)
        if config.get("file"):
            out.append(BuildSecret(ident, file=Path(str(config["file"]))))
        elif config.get("environment"):
            var = str(config["environment"])
            out.append(BuildSecret(ident, value=environment.get(var, "")))
        else:
            raise ComposeError(f"{where}: build.secrets only supports environment or file-based secrets")
    return tuple(out)
