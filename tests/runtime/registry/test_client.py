"""The registry client against real registries: TLS verified with the registry's CA folder,
challenges answered (anonymous and credentialed tokens, reused; Basic), errors as one line."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from runtime.registry.auth import AuthConfig
from runtime.registry.client import RegistryClient
from runtime.registry.config import RegistryConfig
from runtime.registry.errors import Unauthorized, Unreachable
from runtime.registry.login import check_login
from tests.registry_fixture import RegistryFactory
from tests.registry_images import oci_layout, push_layout


def _strict(certs: Path) -> RegistryConfig:
    """Loopback not insecure: TLS verified, as for any other registry."""
    return RegistryConfig(implicit_insecure=(), cert_dirs=(certs,))


def test_tls_verified_with_ca_folder(registry_factory: RegistryFactory, tmp_path: Path) -> None:
    reg = registry_factory("tls")
    assert reg.ca is not None
    with RegistryClient(reg.host, AuthConfig(), _strict(tmp_path / "none")) as client, \
            pytest.raises(Unreachable, match=r'^Get "https://127\.0\.0\.1:\d+/v2/": tls: failed to verify certificate: '
                                             r'x509: certificate signed by unknown authority$'):
        client.ping()
    (tmp_path / "certs.d" / reg.host).mkdir(parents=True)
    shutil.copy(reg.ca, tmp_path / "certs.d" / reg.host / "ca.crt")
    with RegistryClient(reg.host, AuthConfig(), _strict(tmp_path / "certs.d")) as client:
        client.ping()
        assert client.base == f"https://{reg.host}"


def test_token_reused_and_login(registry_factory: RegistryFactory, tmp_path: Path) -> None:
    reg = registry_factory("token")
    push_layout(oci_layout(tmp_path / "l", [{"a": b"a"}]), reg, "t/a", "v1")
    assert reg.token_server is not None
    reg.token_server.issued.clear()
    with RegistryClient(reg.host, AuthConfig("testuser", "testpassword"), RegistryConfig()) as client:
        for _ in range(3):
            response = client.request("GET", "/v2/t/a/tags/list", "repository:t/a:pull")
            assert response.status_code == 200 and response.json()["tags"] == ["v1"]
    assert len(reg.token_server.issued) == 1
    identity = check_login(AuthConfig("testuser", "testpassword", reg.host), RegistryConfig())
    assert identity in reg.token_server.refresh_tokens  # the login's refresh token, the client's IdentityToken
    reg.token_server.issued.clear()
    with RegistryClient(reg.host, AuthConfig(identitytoken=identity), RegistryConfig()) as client:
        response = client.request("POST", "/v2/t/b/blobs/uploads/", "repository:t/b:pull,push")
        assert response.status_code == 202  # a push scope: granted to the user behind the identity token
    assert [account for account, _ in reg.token_server.issued] == ["testuser"]
    with pytest.raises(Unauthorized, match=r'^Get "http://127\.0\.0\.1:\d+/v2/": unauthorized: incorrect username '
                                           r'or password$'):
        check_login(AuthConfig("testuser", "nope", reg.host), RegistryConfig())


def test_unreachable_is_one_line() -> None:
    with RegistryClient("127.0.0.1:1", AuthConfig(), RegistryConfig()) as client, \
            pytest.raises(Unreachable, match=r'^Get "http://127\.0\.0\.1:1/v2/": connect: connection refused$'):
        client.ping()


def test_expired_or_refused_token_is_replaced(registry_factory: RegistryFactory, tmp_path: Path) -> None:
    reg = registry_factory("token")
    push_layout(oci_layout(tmp_path / "l", [{"a": b"a"}]), reg, "t/a", "v1")
    assert reg.token_server is not None
    reg.token_server.expires_in = 2  # used for half its life
    reg.token_server.issued.clear()
    scope = "repository:t/a:pull"
    with RegistryClient(reg.host, AuthConfig(), RegistryConfig()) as client:
        assert client.request("GET", "/v2/t/a/tags/list", scope).status_code == 200
        time.sleep(1.1)
        assert client.request("GET", "/v2/t/a/tags/list", scope).status_code == 200
        assert len(reg.token_server.issued) == 2
        assert client.challenge is not None
        key = (client.challenge.params["realm"], client.challenge.params["service"], scope)
        client.tokens.put(key, "not-a-token", 300)  # the registry refuses it: a new one is fetched once
        assert client.request("GET", "/v2/t/a/tags/list", scope).status_code == 200
        assert len(reg.token_server.issued) == 3
