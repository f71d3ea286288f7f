"""Platform strings and choice in a manifest list, manifest verification."""

from __future__ import annotations

import pytest

from runtime.images import oci
from runtime.registry.errors import InvalidContent
from runtime.registry.manifests import NoMatchingPlatform, PlatformError, choose, parse_platform, verify_manifest


@pytest.mark.parametrize(("text", "want"), [
    ("linux/amd64", oci.Platform("linux", "amd64")),
    ("linux/arm64", oci.Platform("linux", "arm64", "v8")),
    ("linux/arm64/v8", oci.Platform("linux", "arm64", "v8")),
    ("linux/aarch64", oci.Platform("linux", "arm64", "v8")),
    ("linux/arm/v6", oci.Platform("linux", "arm", "v6")),
    ("x86_64", oci.Platform("linux", "amd64")),
])
def test_parse_platform(text: str, want: oci.Platform) -> None:
    assert parse_platform(text) == want


def test_parse_platform_refuses() -> None:
    with pytest.raises(PlatformError, match=r'^"linux/nope": unknown operating system or architecture'):
        parse_platform("linux/nope")


def _entry(arch: str, variant: str = "") -> oci.Descriptor:
    return oci.Descriptor(oci.OCI_MANIFEST, "sha256:" + (arch[0] * 64)[:64].replace(arch[0], "a"), 1,
                          platform=oci.Platform("linux", arch, variant))


def test_choose() -> None:
    entries = [_entry("amd64"), _entry("arm64", "v8")]
    assert choose(entries, oci.Platform("linux", "arm64", "v8")).platform == oci.Platform("linux", "arm64", "v8")
    with pytest.raises(NoMatchingPlatform, match=r"^no matching manifest for linux/s390x in the manifest list "
                                                 r"entries \(available: linux/amd64, linux/arm64/v8\)$"):
        choose(entries, oci.Platform("linux", "s390x"))


def test_verify_manifest() -> None:
    data = b'{"schemaVersion":2}'
    digest = verify_manifest(data, None, None, "x")
    assert verify_manifest(data, digest, digest, "x") == digest
    with pytest.raises(InvalidContent, match="manifest verification failed"):
        verify_manifest(data, "sha256:" + "0" * 64, None, "x")
