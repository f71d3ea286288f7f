"""OCI helpers: ChainID, descriptors, platform choice, manifests."""

from __future__ import annotations

import hashlib
import json

import pytest

from runtime.images import ImageInvalid, oci
from runtime.images.oci import Descriptor, Platform


def test_chain_ids_follow_the_spec() -> None:
    a, b, c = ("sha256:" + x * 64 for x in "abc")
    ab = "sha256:" + hashlib.sha256(f"{a} {b}".encode()).hexdigest()
    abc = "sha256:" + hashlib.sha256(f"{ab} {c}".encode()).hexdigest()
    assert oci.chain_ids([a, b, c]) == [a, ab, abc]
    assert oci.chain_ids([]) == []


def desc(arch: str | None, variant: str = "", **notes: str) -> Descriptor:
    plat = Platform("linux", arch, variant) if arch else None
    return Descriptor(oci.OCI_MANIFEST, "sha256:" + (arch or "none").encode().hex()[:2] * 32, 1, notes, plat)


def test_pick_platform() -> None:
    entries = [desc("arm64", "v8"), desc("amd64"), desc("arm", "v6"), desc("arm", "v7")]
    assert oci.pick_platform(entries, Platform("linux", "amd64")) == entries[1]
    assert oci.pick_platform(entries, Platform("linux", "arm64")) == entries[0]
    assert oci.pick_platform(entries, Platform("linux", "arm", "v7")) == entries[3]
    assert oci.pick_platform(entries, Platform("linux", "s390x")) is None
    attest = desc(None, **{"vnd.docker.reference.type": "attestation-manifest"})
    assert oci.pick_platform([attest, desc(None)], Platform("linux", "amd64")) == desc(None)


def test_parse_manifest_and_index() -> None:
    cfg = {"mediaType": oci.OCI_CONFIG, "digest": "sha256:" + "1" * 64, "size": 3}
    manifest = json.dumps({"schemaVersion": 2, "config": cfg, "layers": [dict(cfg, mediaType=oci.OCI_LAYER)]})
    config, layers = oci.parse_manifest(manifest.encode())
    assert config.size == 3 and layers[0].media_type == oci.OCI_LAYER
    with pytest.raises(ImageInvalid, match="digest"):
        oci.parse_index(json.dumps({"manifests": [{"digest": "md5:00", "size": 1}]}).encode())
    with pytest.raises(ImageInvalid, match="not valid JSON"):
        oci.parse_manifest(b"{")


def test_config_diff_ids() -> None:
    good = {"rootfs": {"type": "layers", "diff_ids": ["sha256:" + "2" * 64]}}
    assert oci.config_diff_ids(good) == ["sha256:" + "2" * 64]
    with pytest.raises(ImageInvalid, match="rootfs"):
        oci.config_diff_ids({"rootfs": {"type": "other"}})


def test_make_manifest_is_canonical() -> None:
    layer = Descriptor(oci.OCI_LAYER_GZIP, "sha256:" + "3" * 64, 10)
    raw = oci.make_manifest("sha256:" + "4" * 64, 5, [layer])
    assert b" " not in raw
    assert json.loads(raw)["layers"] == [{"mediaType": oci.OCI_LAYER_GZIP, "digest": layer.digest, "size": 10}]
