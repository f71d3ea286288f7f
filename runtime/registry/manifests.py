"""Manifests from a registry: what to ask for, how to check it, and which platform to take.

Accepted: Docker schema 2 manifests and manifest lists, OCI manifests and indexes. A manifest
is verified against the digest it was asked by (or the one the registry names) before use.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from runtime.images import oci
from runtime.images.errors import ImageInvalid
from runtime.registry.errors import InvalidContent, RegistryError

ACCEPT = ", ".join((oci.OCI_INDEX, oci.DOCKER_LIST, oci.OCI_MANIFEST, oci.DOCKER_MANIFEST))
MAX_MANIFEST = 4 << 20
SCHEMA1_TYPES = frozenset({"application/vnd.docker.distribution.manifest.v1+json",
                           "application/vnd.docker.distribution.manifest.v1+prettyjws"})
_OSES = {"linux", "windows", "darwin", "freebsd"}
_ARCHES = {
    "x86_64": ("amd64", ""), "x86-64": ("amd64", ""), "amd64": ("amd64", ""),
    "aarch64": ("arm64", ""), "arm64": ("arm64", ""),
    "armhf": ("arm", "v7"), "armel": ("arm", "v6"), "arm": ("arm", ""),
    "i386": ("386", ""), "386": ("386", ""), "ppc64le": ("ppc64le", ""), "s390x": ("s390x", ""),
    "riscv64": ("riscv64", ""), "mips64le": ("mips64le", ""),
}


class PlatformError(RegistryError):
    status = 400


class NoMatchingPlatform(RegistryError):
    status = 404


def parse_platform(text: str) -> oci.Platform:
    """`os[/arch[/variant]]` or `arch` as containerd's platforms.Parse reads it, normalized."""
    parts = text.strip().lower().split("/")
    host = oci.host_platform()
    bad = PlatformError(f'"{text}": unknown operating system or architecture: invalid argument')
    if not parts[0] or len(parts) > 3:
        raise bad
    if len(parts) == 1:
        if parts[0] in _OSES:
            return oci.Platform(parts[0], host.architecture, host.variant)
        os_name, arch_text, variant = "linux", parts[0], ""
    else:
        os_name, arch_text = parts[0], parts[1]
        variant = parts[2] if len(parts) == 3 else ""
    if os_name not in _OSES or arch_text not in _ARCHES:
        raise bad
    arch, implied = _ARCHES[arch_text]
    variant = variant or implied
    if arch == "arm64" and variant in ("", "8"):
        variant = "v8"
    return oci.Platform(os_name, arch, variant)


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def verify_manifest(data: bytes, asked: str | None, named: str | None, what: str) -> str:
    """The manifest's digest; refused when it does not match the digest asked for or named."""
    digest = digest_of(data)
    for expected in (asked, named):
        if expected and expected.startswith("sha256:") and expected != digest:
            raise InvalidContent(f"{what}: manifest verification failed for digest {expected} (content is {digest})")
    return digest


@dataclass(frozen=True)
class Resolved:
    """The image a reference names for one platform."""

    digest: str  # what the reference resolved to (an index's digest for a multi-platform image)
    manifest: bytes  # the platform's manifest
    manifest_digest: str
    media_type: str
    config: oci.Descriptor
    layers: tuple[oci.Descriptor, ...]


def media_type_of(data: bytes, header: str) -> str:
    obj = oci.parse_object(data, "manifest")
    media = obj.get("mediaType")
    if isinstance(media, str) and media:
        return media
    if "manifests" in obj:
        return oci.OCI_INDEX
    if obj.get("schemaVersion") == 1:
        return "application/vnd.docker.distribution.manifest.v1+json"
    return header.split(";")[0].strip() or oci.OCI_MANIFEST


def choose(entries: list[oci.Descriptor], want: oci.Platform) -> oci.Descriptor:
    picked = oci.pick_platform(entries, want)
    if picked is None or picked.media_type in oci.INDEX_TYPES:
        available = sorted({str(d.platform) for d in entries if d.platform is not None and not oci.is_attestation(d)})
        raise NoMatchingPlatform(
            f"no matching manifest for {want} in the manifest list entries"
            + (f" (available: {', '.join(available)})" if available else "")
        )
    return picked


def parse_image_manifest(data: bytes, media: str, what: str) -> tuple[oci.Descriptor, list[oci.Descriptor]]:
    if media not in oci.MANIFEST_TYPES:
        raise InvalidContent(f"{what}: unsupported manifest media type {media}")
    try:
        return oci.parse_manifest(data, what)
    except ImageInvalid as exc:
        raise InvalidContent(str(exc)) from None


def check_config_platform(config: dict, want: oci.Platform, ref: str) -> None:
    """A single-platform image pulled with `platform=` must be that platform (dockerd 24+)."""
    have = oci.Platform(str(config.get("os", "")), str(config.get("architecture", "")), str(config.get("variant", "")))
    if have.os != want.os or have.architecture != want.architecture:
        raise NoMatchingPlatform(
            f"image with reference {ref} was found but does not match the specified platform: "
            f"wanted {want}, actual: {have}"
        )
