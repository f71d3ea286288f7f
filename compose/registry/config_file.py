"""The docker CLI's `config.json`: where it is, what its `auths` hold, and writing it back safely.

`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. Every key we do
not use is kept as it was. An `auths` entry is `{"auth": base64("user:pass")}`
(or `{"identitytoken": …}`), or `{}` when the secret lives in a credential
helper. Written as the docker CLI writes it: tab-indented JSON, mode 0600,
through a temporary file and a rename.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compose.error_base import ComposeError
from compose.registry.reference import hostname

CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class Credentials:
    """What a registry gets to know about us; all empty is anonymous."""

    server: str
    username: str = ""
    password: str = ""
    identity_token: str = ""

    @property
    def anonymous(self) -> bool:
        return not (self.username or self.password or self.identity_token)


def config_dir(environ: Mapping[str, str]) -> Path:
    where = environ.get("DOCKER_CONFIG")
    if where:
        return Path(where)
    return Path(environ.get("HOME") or Path.home()) / ".docker"


def read_config(directory: Path) -> dict[str, Any]:
    path = directory / CONFIG_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ComposeError(f"loading config file {path}: {exc.strerror}") from None
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ComposeError(f"loading config file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ComposeError(f"loading config file {path}: not a JSON object")
    return data


def write_config(directory: Path, data: Mapping[str, Any]) -> Path:
    path = directory / CONFIG_FILE
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".config.json.", dir=directory)
    except OSError as exc:
        raise ComposeError(f"saving config file {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(data, indent="\t"))
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def encode_auth(username: str, password: str) -> str:
    return base64.b64encode(f"{username}:{password}".encode()).decode()


def decode_entry(server: str, entry: Mapping[str, Any]) -> Credentials:
    """One `auths` entry -> Credentials (a bad `auth` is an error, as the docker CLI's)."""
    username, password = str(entry.get("username") or ""), str(entry.get("password") or "")
    auth = str(entry.get("auth") or "")
    if auth:
        try:
            user, sep, secret = base64.b64decode(auth, validate=False).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise ComposeError(f"config.json: invalid auth for {server}") from None
        if not sep:
            raise ComposeError(f"config.json: invalid auth configuration for {server}")
        username, password = user, secret
    return Credentials(server, username, password, str(entry.get("identitytoken") or ""))


def find_entry(auths: Mapping[str, Any], key: str) -> tuple[str, Mapping[str, Any]] | None:
    """The entry kept under `key`, or under a legacy spelling of the same host (`https://host/v1/`)."""
    if isinstance(auths.get(key), Mapping):
        return key, auths[key]
    for name, entry in auths.items():
        if isinstance(entry, Mapping) and hostname(name) == hostname(key):
            return name, entry
    return None


def file_entry(creds: Credentials) -> dict[str, str]:
    entry: dict[str, str] = {}
    if creds.username or creds.password:
        entry["auth"] = encode_auth(creds.username, creds.password)
    if creds.identity_token:
        entry["identitytoken"] = creds.identity_token
    return entry
