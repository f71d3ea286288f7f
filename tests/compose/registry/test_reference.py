"""Docker's reference rules: which registry an image lives in, and where its credentials are kept."""

from __future__ import annotations

import pytest

from compose.registry.reference import INDEX_SERVER, auth_key, domain_of, hostname, parse, server_key, with_default_tag


@pytest.mark.parametrize(("ref", "domain", "path"), [
    ("busybox", "docker.io", "library/busybox"),
    ("busybox:1.36", "docker.io", "library/busybox"),
    ("team/app", "docker.io", "team/app"),
    ("docker.io/busybox", "docker.io", "library/busybox"),
    ("index.docker.io/team/app", "docker.io", "team/app"),
    ("localhost/app", "localhost", "app"),
    ("localhost:5000/app:1", "localhost:5000", "app"),
    ("127.0.0.1:5000/a/b", "127.0.0.1:5000", "a/b"),
    ("registry.example.com/a", "registry.example.com", "a"),
    ("Upper/app", "Upper", "app"),  # an upper-case first component is a host (docker's rule)
    ("team/app@sha256:" + "a" * 64, "docker.io", "team/app"),
])
def test_domain_and_path(ref: str, domain: str, path: str) -> None:
    parsed = parse(ref)
    assert (parsed.domain, parsed.path) == (domain, path)
    assert domain_of(ref) == domain


def test_tags_digests_and_the_names_docker_shows() -> None:
    ref = parse("localhost:5000/app")
    assert ref.tag is None and with_default_tag(ref).tag == "latest"
    assert with_default_tag(parse("busybox")).full() == "docker.io/library/busybox:latest"
    assert with_default_tag(parse("busybox")).familiar() == "busybox:latest"
    assert parse("team/app:2").familiar() == "team/app:2"
    digest = "sha256:" + "b" * 64
    pinned = parse(f"localhost:5000/app@{digest}")
    assert (pinned.tag, pinned.digest) == (None, digest) and with_default_tag(pinned) == pinned


def test_auth_keys() -> None:
    assert auth_key("docker.io") == INDEX_SERVER == "https://index.docker.io/v1/"
    assert auth_key("localhost:5000") == "localhost:5000"
    assert server_key(None) == INDEX_SERVER and server_key("docker.io") == INDEX_SERVER
    assert server_key("https://localhost:5000/v2/") == "localhost:5000"
    assert hostname("http://r.example.com:443/x") == "r.example.com:443"
