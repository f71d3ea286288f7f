"""The docker CLI's credential store: config.json `auths`, `credsStore` and `credHelpers`.

A registry's key (`reference.auth_key`) picks the helper: `credHelpers[key]`,
else `credsStore`, else none, and then the secret is base64 in `auths`. With a
helper, `auths[key]` is kept as `{}` (the docker CLI's record that a login
happened) and the helper's answer wins over anything in the file.
`registry_auth` is the `X-Registry-Auth` header the engine takes on pull and
push: base64url of `{"username","password","serveraddress"[,"identitytoken"]}`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compose.registry import helpers
from compose.registry.config_file import (
    Credentials,
    config_dir,
    decode_entry,
    file_entry,
    find_entry,
    read_config,
    write_config,
)
from compose.registry.reference import auth_key, domain_of


@dataclass(frozen=True)
class CredentialStore:
    directory: Path
    environ: Mapping[str, str]

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> CredentialStore:
        return cls(config_dir(environ), dict(environ))

    @property
    def path(self) -> Path:
        return self.directory / "config.json"

    def helper(self, key: str, config: Mapping[str, Any] | None = None) -> str | None:
        config = read_config(self.directory) if config is None else config
        chosen = (config.get("credHelpers") or {}).get(key) or config.get("credsStore")
        return str(chosen) if chosen else None

    def get(self, key: str) -> Credentials:
        config = read_config(self.directory)
        helper = self.helper(key, config)
        if helper:
            return helpers.get(helper, key, self.environ)
        found = find_entry(config.get("auths") or {}, key)
        return decode_entry(key, found[1]) if found else Credentials(key)

    def store(self, creds: Credentials) -> str | None:
        """Keep `creds`; the helper that took the secret, or None when it went into config.json."""
        config = read_config(self.directory)
        helper = self.helper(creds.server, config)
        auths = dict(config.get("auths") or {})
        if helper:
            helpers.store(helper, creds, self.environ)
            auths[creds.server] = {}
        else:
            auths[creds.server] = file_entry(creds)
        write_config(self.directory, {**config, "auths": auths})
        return helper

    def erase(self, key: str) -> None:
        """Forget `key` in its helper and in the file (a key nobody knew is fine)."""
        config = read_config(self.directory)
        helper = self.helper(key, config)
        if helper:
            helpers.erase(helper, key, self.environ)
        auths = dict(config.get("auths") or {})
        if key in auths:
            del auths[key]
            write_config(self.directory, {**config, "auths": auths})

    def for_image(self, image: str) -> Credentials:
        return self.get(auth_key(domain_of(image)))


def registry_auth(creds: Credentials) -> str:
    """The X-Registry-Auth header's value for `creds` (docker's EncodeAuthConfig: padded base64url)."""
    payload: dict[str, str] = {"serveraddress": creds.server}
    if creds.username:
        payload["username"] = creds.username
    if creds.password:
        payload["password"] = creds.password
    if creds.identity_token:
        payload["identitytoken"] = creds.identity_token
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def auth_headers(store: CredentialStore, image: str) -> dict[str, str]:
    return {"X-Registry-Auth": registry_auth(store.for_image(image))}
