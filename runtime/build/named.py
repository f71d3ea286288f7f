"""Our extension of `POST /build` for what the classic protocol cannot carry: build secrets and
named (additional) contexts. Only pycompose's client sends it, and only to an engine that says it
is ours (`/version`'s `Platform.Name` is "pycompose engine"); the docker CLI never does.

- Secrets: header `X-Pycompose-Build-Secrets`, base64url of the JSON `{"<id>": "<base64 of the
  content>"}`. They live in the build's memory only: a `RUN --mount=type=secret,id=<id>` gets a
  0400 file in the build's private work directory (or `env=`), never a layer, the history, the
  cache key (which holds the mount's id and target, as buildkit's) or the kept context.
- Named contexts: query `namedcontexts`, the JSON `{"<name>": "<source>"}` where the source is
  `docker-image://<ref>` or `local:<n>`; a local context's files travel in the context tar under
  `.pycompose-named-contexts/<n>/` (n: a short token of `[0-9a-z]`), which the engine takes out
  of the main context. `FROM <name>`, `COPY --from=<name>` and `RUN --mount=from=<name>` use
  them; a name shadows a stage or an image of the same name, as buildkit's.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import bad_request

SECRETS_HEADER = "X-Pycompose-Build-Secrets"
CONTEXTS_PARAM = "namedcontexts"
PREFIX = ".pycompose-named-contexts"
IMAGE = "docker-image://"
LOCAL = "local:"
_TOKEN = re.compile(r"^[0-9a-z]{1,16}$")


@dataclass(frozen=True)
class Named:
    name: str
    image: str = ""  # docker-image://: the reference
    token: str = ""  # local: the folder under PREFIX
    path: Path | None = None  # local: where it was unpacked (set once the context is)


def parse_secrets(header: str) -> dict[str, bytes]:
    """The secrets of the header; a 400 when it cannot be read (never echoing its content)."""
    if not header.strip():
        return {}
    text = header.strip()
    try:
        doc = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if not isinstance(doc, dict) or not all(isinstance(v, str) for v in doc.values()):
            raise ValueError
        secrets = {str(k): base64.b64decode(v, validate=True) for k, v in doc.items()}
    except (ValueError, TypeError, binascii.Error):
        raise bad_request(f"error reading {SECRETS_HEADER}: not base64url JSON of {{id: base64 content}}") from None
    for ident in secrets:
        if not ident or "/" in ident or ident in (".", ".."):
            raise bad_request(f"invalid secret id {ident!r}")
    return secrets


def encode_secrets(secrets: Mapping[str, bytes]) -> str:
    doc = {k: base64.b64encode(v).decode() for k, v in secrets.items()}
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode()


def parse_contexts(text: str) -> tuple[Named, ...]:
    if not text:
        return ()
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise bad_request(f"error reading named contexts: {exc}") from None
    if not isinstance(doc, dict):
        raise bad_request("error reading named contexts: expected an object of name to source")
    out = []
    for name, source in doc.items():
        if not isinstance(name, str) or not name or not isinstance(source, str):
            raise bad_request(f"invalid named context {name!r}")
        if source.startswith(IMAGE) and source[len(IMAGE):]:
            out.append(Named(name.lower(), image=source[len(IMAGE):]))
        elif source.startswith(LOCAL) and _TOKEN.match(source[len(LOCAL):]):
            out.append(Named(name.lower(), token=source[len(LOCAL):]))
        else:
            raise bad_request(f"invalid named context {name}: unsupported source {source!r}")
    return tuple(out)


def placed(named: tuple[Named, ...], folder: Path | None) -> dict[str, Named]:
    """The named contexts by name, the local ones with the folder they were unpacked to."""
    out: dict[str, Named] = {}
    for entry in named:
        if entry.token:
            path = None if folder is None else folder / entry.token
            if path is None or not path.is_dir() or path.is_symlink():
                raise bad_request(f"named context {entry.name}: its files are missing from the context")
            entry = Named(entry.name, token=entry.token, path=path)
        out[entry.name] = entry
    return out
