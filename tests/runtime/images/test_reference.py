"""Reference parsing and normalization, as Docker does it."""

from __future__ import annotations

import pytest

from runtime.images import ImageInvalid
from runtime.images.reference import familiar, parse


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
        ("BusyBox", "must be lowercase"),
        ("a" * 64, "64-byte hexadecimal"),
        ("busybox:bad tag", "invalid tag"),
        ("busybox@sha256:xyz", "invalid digest"),
        ("", "invalid reference"),
        ("a//b", "invalid reference"),
        ("-lead", "invalid reference"),
    ],
)
def test_invalid(text: str, message: str) -> None:
    with pytest.raises(ImageInvalid, match=message):
        parse(text)
