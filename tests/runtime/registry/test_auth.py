"""Credentials and challenges: X-Registry-Auth decoding, WWW-Authenticate parsing, token reuse."""

from __future__ import annotations

import base64
import json
import time

import pytest

from runtime.registry.auth import (
    AuthConfig,
    BadAuthHeader,
    TokenCache,
    decode_registry_auth,
    parse_challenges,
    repository_scope,
    token_from_answer,
)


def _header(obj: object, pad: bool = False) -> str:
    raw = base64.urlsafe_b64encode(json.dumps(obj).encode()).decode()
    return raw if pad else raw.rstrip("=")


def test_x_registry_auth_forms() -> None:
    got = decode_registry_auth(_header({"username": "u", "password": "p?>", "serveraddress": "h:5000"}))
    assert got == AuthConfig("u", "p?>", "h:5000")
    assert decode_registry_auth(_header({"identitytoken": "tok"}, pad=True)).identitytoken == "tok"
    packed = base64.b64encode(b"user:pw:with:colons").decode()
    assert decode_registry_auth(_header({"auth": packed})) == AuthConfig("user", "pw:with:colons")
    assert decode_registry_auth("").empty
    assert decode_registry_auth(_header({})).empty


@pytest.mark.parametrize("bad", ["not base64!", _header([1, 2])])
def test_x_registry_auth_refused(bad: str) -> None:
    with pytest.raises(BadAuthHeader, match=r"^invalid X-Registry-Auth header"):
        decode_registry_auth(bad)


def test_challenges() -> None:
    found = parse_challenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:samalba/my-app:pull,push"'
    )
    assert [(c.scheme, c.params) for c in found] == [("bearer", {
        "realm": "https://auth.docker.io/token", "service": "registry.docker.io",
        "scope": "repository:samalba/my-app:pull,push"})]
    assert parse_challenges('Basic realm="Registry Realm"')[0].params == {"realm": "Registry Realm"}
    assert parse_challenges("") == []
    two = parse_challenges('Basic realm="a", Bearer realm="b",service=s')
    assert [c.scheme for c in two] == ["basic", "bearer"] and two[1].params == {"realm": "b", "service": "s"}


def test_scope_and_token_answer() -> None:
    assert repository_scope("library/busybox", "pull", "push") == "repository:library/busybox:pull,push"
    assert token_from_answer({"access_token": "a", "expires_in": 300}) == ("a", 300, "")
    assert token_from_answer({"token": "t"})[1] == 60  # the spec's default


def test_token_cache_reuses_until_expiry() -> None:
    cache = TokenCache()
    key = ("realm", "svc", "repository:x:pull")
    cache.put(key, "t1", 60)
    assert cache.get(key) == "t1"
    cache.put(key, "t2", 0.02)  # a short-lived token is used for half its life
    assert cache.get(key) == "t2"
    time.sleep(0.02)
    assert cache.get(key) is None
