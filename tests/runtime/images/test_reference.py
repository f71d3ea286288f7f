"""Reference parsing and normalization, as Docker does it."""

from __future__ import annotations

import pytest

from runtime.images import ImageInvalid
from runtime.images.reference import api_host, auth_key, familiar, parse


@pytest.mark.parametrize(
    ("text", "full", "short"),
    [
        ("busybox", "docker.io/library/busybox", "busybox"),
        ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox", "busybox"),
        ("index.docker.io/library/busybox:x", "docker.io/library/busybox:x", "busybox:x"),
        ("user/app:v1", "docker.io/user/app:v1", "user/app:v1"),
        ("localhost/app", "localhost/app", "localhost/app"),
        ("localhost:5000/a/b:c", "localhost:5000/a/b:c", "localhost:5000/a/b:c"),
        ("example.com/x@sha256:" + "a" * 64, "example.com/x@sha256:" + "a" * 64, "example.com/x@sha256:" + "a" * 64),
        ("a.b-c__d", "docker.io/library/a.b-c__d", "a.b-c__d"),
    ],
)
def test_parse(text: str, full: str, short: str) -> None:
    ref = parse(text)
    assert str(ref) == full and ref.familiar() == short
    assert familiar(full) == short


def test_defaulted() -> None:
    assert str(parse("busybox").defaulted()) == "docker.io/library/busybox:latest"
    assert parse("busybox@sha256:" + "b" * 64).defaulted().tag is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("BusyBox", r"^invalid reference format: repository name \(library/BusyBox\) must be lowercase$"),
        ("Foo", r"^invalid reference format: repository name \(library/Foo\) must be lowercase$"),
        ("example.com/Foo/bar", r"repository name \(Foo/bar\) must be lowercase$"),
        ("a" * 64, r"^invalid repository name \(a{64}\), cannot specify 64-byte hexadecimal strings$"),
        ("busybox:bad tag", "^invalid reference format$"),
        ("busybox:" + "t" * 129, "^invalid reference format$"),
        ("busybox@sha256:xyz", "^invalid reference format$"),
        ("busybox@sha256:" + "a" * 63, "^invalid checksum digest length$"),
        ("busybox@md5:" + "a" * 32, "^unsupported digest algorithm$"),
        ("busybox@sha256:" + "A" * 64, "^invalid checksum digest format$"),
        ("", "^invalid reference format: repository name must have at least one component$"),
        ("a//b", "^invalid reference format$"),
        ("-lead", "^invalid reference format$"),
        ("x/" + "a" * 260, "must not be more than 255 characters$"),
    ],
)
def test_invalid(text: str, message: str) -> None:
    with pytest.raises(ImageInvalid, match=message):
        parse(text)


@pytest.mark.parametrize(
    ("text", "domain", "path", "api"),
    [
        ("busybox", "docker.io", "library/busybox", "registry-1.docker.io"),
        ("index.docker.io/user/app", "docker.io", "user/app", "registry-1.docker.io"),
        ("docker.io/library/busybox", "docker.io", "library/busybox", "registry-1.docker.io"),
        ("localhost/app", "localhost", "app", "localhost"),
        ("localhost:5000/app", "localhost:5000", "app", "localhost:5000"),
        ("127.0.0.1:5000/a/b", "127.0.0.1:5000", "a/b", "127.0.0.1:5000"),
        ("host:5000/app", "host:5000", "app", "host:5000"),
        ("quay.io/org/app", "quay.io", "org/app", "quay.io"),
        ("org/app", "docker.io", "org/app", "registry-1.docker.io"),
        ("Upper/app", "Upper", "app", "Upper"),
    ],
)
def test_domains(text: str, domain: str, path: str, api: str) -> None:
    ref = parse(text)
    assert (ref.domain, ref.path, api_host(ref.domain)) == (domain, path, api)


def test_tag_and_digest_together() -> None:
    digest = "sha256:" + "c" * 64
    ref = parse(f"127.0.0.1:5000/app:v1@{digest}")
    assert (ref.tag, ref.digest) == ("v1", digest)
    assert ref.familiar() == f"127.0.0.1:5000/app:v1@{digest}"


def test_auth_key() -> None:
    assert auth_key("docker.io") == "https://index.docker.io/v1/"
    assert auth_key("127.0.0.1:5000") == "127.0.0.1:5000"
