"""Credentials and challenges: `X-Registry-Auth`, `WWW-Authenticate`, and bearer tokens.

Pure parsing here; `client` does the HTTP. Tokens are kept per (realm, service, scope) until
shortly before they expire (`expires_in`, 60 s when the server gives none, as the token spec says).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
from dataclasses import dataclass, field

from runtime.registry.errors import RegistryError

DEFAULT_EXPIRY = 60
MARGIN = 5  # seconds before expiry a token is no longer used


class BadAuthHeader(RegistryError):
    status = 400


@dataclass(frozen=True)
class AuthConfig:
    """What a client sends to log in or pull/push (docker's AuthConfig)."""

    username: str = ""
    password: str = ""
    serveraddress: str = ""
    identitytoken: str = ""
    registrytoken: str = ""

    @property
    def empty(self) -> bool:
        return not (self.username or self.password or self.identitytoken or self.registrytoken)


def _text(obj: dict, *keys: str) -> str:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def auth_from_json(obj: object) -> AuthConfig:
    if not isinstance(obj, dict):
        raise BadAuthHeader("invalid X-Registry-Auth header: must be a JSON object")
    # docker-py sends capitalised keys for some fields; `auth` is base64(user:password).
    username, password = _text(obj, "username", "Username"), _text(obj, "password", "Password")
    packed = _text(obj, "auth", "Auth")
    if packed and not username:
        try:
            username, _, password = base64.b64decode(packed).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise BadAuthHeader("invalid X-Registry-Auth header: bad auth field") from None
    return AuthConfig(
        username=username,
        password=password,
        serveraddress=_text(obj, "serveraddress", "ServerAddress"),
        identitytoken=_text(obj, "identitytoken", "IdentityToken"),
        registrytoken=_text(obj, "registrytoken", "RegistryToken"),
    )


def decode_registry_auth(header: str) -> AuthConfig:
    """The `X-Registry-Auth` header: base64url JSON (padding optional); empty gives no credentials."""
    header = header.strip()
    if not header:
        return AuthConfig()
    try:
        raw = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        obj = json.loads(raw)
    except (binascii.Error, ValueError):
        raise BadAuthHeader("invalid X-Registry-Auth header: not base64url-encoded JSON") from None
    return auth_from_json(obj)


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower case: "bearer", "basic"
    params: dict[str, str] = field(default_factory=dict)


_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?')


def parse_challenges(header: str) -> list[Challenge]:
    """`Bearer realm="…",service="…",scope="…"` (or `Basic realm="…"`), one or more."""
    out: list[Challenge] = []
    rest = header.strip()
    while rest:
        match = re.match(r"([A-Za-z][A-Za-z0-9_-]*)\s*", rest)
        if match is None:
            break
        scheme, rest = match.group(1).lower(), rest[match.end():]
        params: dict[str, str] = {}
        while True:
            p = _PARAM.match(rest)
            if p is None or (p.group(2) is None and p.group(3) is None):
                break
            params[p.group(1).lower()] = p.group(2).replace('\\"', '"') if p.group(2) is not None else p.group(3)
            rest = rest[p.end():]
        out.append(Challenge(scheme, params))
        rest = rest.lstrip(", ")
    return out


def repository_scope(repository: str, *actions: str) -> str:
    return f"repository:{repository}:{','.join(actions)}"


def basic_header(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class TokenCache:
    """Bearer tokens by (realm, service, scope), reused until they expire. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str, str], tuple[str, float]] = {}

    def get(self, key: tuple[str, str, str]) -> str | None:
        with self._lock:
            found = self._tokens.get(key)
            if found is None or found[1] <= time.monotonic():
                self._tokens.pop(key, None)
                return None
            return found[0]

    def put(self, key: tuple[str, str, str], token: str, expires_in: float) -> None:
        lifetime = expires_in - MARGIN if expires_in > 2 * MARGIN else expires_in / 2
        with self._lock:
            self._tokens[key] = (token, time.monotonic() + lifetime)

    def drop(self, key: tuple[str, str, str]) -> None:
        with self._lock:
            self._tokens.pop(key, None)


def token_from_answer(obj: object) -> tuple[str, int, str]:
    """(token, expires_in, refresh_token) from a token server's JSON answer."""
    if not isinstance(obj, dict):
        raise RegistryError("token server answered with something other than a JSON object")
    token = _text(obj, "token", "access_token")
    if not token:
        raise RegistryError("token server answered without a token")
    expires = obj.get("expires_in")
    expires_in = expires if isinstance(expires, int) and expires > 0 else DEFAULT_EXPIRY
    return token, expires_in, _text(obj, "refresh_token")
