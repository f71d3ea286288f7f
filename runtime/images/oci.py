"""OCI image-spec pieces: media types, digests, DiffID/ChainID, and parsing of indexes,
manifests and configs (Docker's v2 schema 2 forms accepted too), with platform choice."""

from __future__ import annotations

import hashlib
import json
import platform as pyplatform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runtime.images.errors import ImageInvalid
from runtime.store.blobs import is_digest

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = OCI_LAYER + "+gzip"
OCI_LAYER_ZSTD = OCI_LAYER + "+zstd"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = DOCKER_LAYER + ".gzip"

INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
LAYOUT_VERSION = "1.0.0"

ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
ANNOTATION_IMAGE_NAME = "io.containerd.image.name"

# How Linux's `uname -m` names a CPU, in OCI's (GOARCH's) words, with the variant.
_MACHINES = {
    "x86_64": ("amd64", ""),
    "amd64": ("amd64", ""),
    "aarch64": ("arm64", "v8"),
    "arm64": ("arm64", "v8"),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
    "i386": ("386", ""),
    "i686": ("386", ""),
    "ppc64le": ("ppc64le", ""),
    "s390x": ("s390x", ""),
    "riscv64": ("riscv64", ""),
}


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def chain_ids(diff_ids: Sequence[str]) -> list[str]:
    """ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))."""
    chains: list[str] = []
    for diff_id in diff_ids:
        chains.append(diff_id if not chains else sha256_digest(f"{chains[-1]} {diff_id}".encode()))
    return chains


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


def host_platform() -> Platform:
    arch, variant = _MACHINES.get(pyplatform.machine(), (pyplatform.machine(), ""))
    return Platform("linux", arch, variant)


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    platform: Platform | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform is not None:
            out["platform"] = {"architecture": self.platform.architecture, "os": self.platform.os}
            if self.platform.variant:
                out["platform"]["variant"] = self.platform.variant
        return out


def parse_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImageInvalid(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ImageInvalid(f"{what} must be a JSON object")
    return obj


def parse_descriptor(obj: Any, what: str) -> Descriptor:
    if not isinstance(obj, dict):
        raise ImageInvalid(f"{what}: descriptor must be an object")
    digest, size, media = obj.get("digest"), obj.get("size"), obj.get("mediaType", "")
    if not isinstance(digest, str) or not is_digest(digest):
        raise ImageInvalid(f"{what}: unsupported or invalid digest {digest!r}")
    if not isinstance(size, int) or size < 0:
        raise ImageInvalid(f"{what}: invalid size {size!r}")
    annotations = obj.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise ImageInvalid(f"{what}: annotations must be an object")
    plat = obj.get("platform")
    parsed = None
    if isinstance(plat, dict):
        parsed = Platform(str(plat.get("os", "")), str(plat.get("architecture", "")), str(plat.get("variant", "")))
    return Descriptor(str(media), digest, size, {str(k): str(v) for k, v in annotations.items()}, parsed)


def parse_index(data: bytes, what: str = "index") -> list[Descriptor]:
    obj = parse_object(data, what)
    manifests = obj.get("manifests")
    if not isinstance(manifests, list):
        raise ImageInvalid(f"{what}: 'manifests' must be a list")
    return [parse_descriptor(m, f"{what} manifests[{i}]") for i, m in enumerate(manifests)]


def parse_manifest(data: bytes, what: str = "manifest") -> tuple[Descriptor, list[Descriptor]]:
    obj = parse_object(data, what)
    media = obj.get("mediaType")
    if media in INDEX_TYPES:
        raise ImageInvalid(f"{what} is an index, not a manifest")
    layers = obj.get("layers")
    if not isinstance(layers, list):
        raise ImageInvalid(f"{what}: 'layers' must be a list")
    config = parse_descriptor(obj.get("config"), f"{what} config")
    return config, [parse_descriptor(layer, f"{what} layers[{i}]") for i, layer in enumerate(layers)]


def config_diff_ids(config: Mapping[str, Any], what: str = "image config") -> list[str]:
    rootfs = config.get("rootfs")
    if not isinstance(rootfs, dict) or rootfs.get("type") != "layers":
        raise ImageInvalid(f"{what}: rootfs must be {{'type': 'layers', ...}}")
    diff_ids = rootfs.get("diff_ids") or []
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) and is_digest(d) for d in diff_ids):
        raise ImageInvalid(f"{what}: rootfs.diff_ids must be a list of sha256 digests")
    return list(diff_ids)


def is_attestation(desc: Descriptor) -> bool:
    return desc.annotations.get("vnd.docker.reference.type") == "attestation-manifest" or (
        desc.platform is not None and desc.platform.os == "unknown"
    )


def _variant(p: Platform) -> str:
    if p.variant:
        return p.variant
    return {"arm64": "v8", "arm": "v7"}.get(p.architecture, "")


def pick_platform(descs: Sequence[Descriptor], want: Platform) -> Descriptor | None:
    """The manifest for `want` from an index's entries, as containerd's default matcher picks."""
    candidates = [d for d in descs if not is_attestation(d)]
    exact = [
        d for d in candidates
        if d.platform is not None and d.platform.os == want.os and d.platform.architecture == want.architecture
    ]
    same_variant = [d for d in exact if d.platform is not None and _variant(d.platform) == _variant(want)]
    if same_variant:
        return same_variant[0]
    if exact:
        return exact[0]
    untyped = [d for d in candidates if d.platform is None]
    return untyped[0] if len(untyped) == 1 else None


def layer_media_type(compression: str) -> str:
    return {"gzip": OCI_LAYER_GZIP, "zstd": OCI_LAYER_ZSTD}.get(compression, OCI_LAYER)


def make_manifest(config_digest: str, config_size: int, layers: Sequence[Descriptor]) -> bytes:
    return canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
            "layers": [d.to_json() for d in layers],
        }
    )


def make_index(manifests: Sequence[Descriptor]) -> bytes:
    return canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [m.to_json() for m in manifests]})
