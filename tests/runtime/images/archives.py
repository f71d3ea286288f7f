"""Build layer tars, image configs and archives (docker-archive, OCI) for tests, in memory."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

Entry = tuple[Any, ...]  # (name, kind, payload...) - see layer_tar


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(entries: Sequence[Entry]) -> bytes:
    """entries: ("name", "file", b"data"[, mode]), ("name", "dir"[, mode]), ("name", "sym", "target"),
    ("name", "hard", "target"), ("name", "chr"|"blk", (major, minor)), ("name", "fifo")."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, *rest in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1_700_000_000
            data = None
            if kind == "file":
                data = rest[0]
                ti.size = len(data)
                ti.mode = rest[1] if len(rest) > 1 else 0o644
            elif kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, rest[0] if rest else 0o755
            elif kind == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, rest[0]
            elif kind == "hard":
                ti.type, ti.linkname = tarfile.LNKTYPE, rest[0]
            elif kind in ("chr", "blk"):
                ti.type = tarfile.CHRTYPE if kind == "chr" else tarfile.BLKTYPE
                ti.devmajor, ti.devminor = rest[0]
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
            else:
                raise ValueError(kind)
            tar.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def config_for(layers: Sequence[bytes], created: str = "2024-01-02T03:04:05Z", **inner: Any) -> bytes:
    diff_ids = [sha256(_plain(layer)) for layer in layers]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": inner,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": created, "created_by": f"layer {i}"} for i in range(len(layers))],
    }
    return json.dumps(config).encode()


def _plain(layer: bytes) -> bytes:
    return gzip.decompress(layer) if layer[:2] == b"\x1f\x8b" else layer


@dataclass
class Img:
    layers: list[bytes]
    tags: list[str] = field(default_factory=list)
    config: bytes = b""

    def __post_init__(self) -> None:
        if not self.config:
            self.config = config_for(self.layers)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    tar.addfile(ti, io.BytesIO(data))


def docker_archive(images: Sequence[Img], old_format: bool = False) -> bytes:
    buf = io.BytesIO()
    manifest = []
    with tarfile.open(fileobj=buf, mode="w") as tar:
        written: set[str] = set()
        for img in images:
            cfg_name = f"{sha256(img.config)[7:]}.json" if old_format else f"blobs/sha256/{sha256(img.config)[7:]}"
            layer_names = []
            for layer in img.layers:
                hexd = sha256(layer)[7:]
                name = f"{hexd}/layer.tar" if old_format else f"blobs/sha256/{hexd}"
                if name not in written:
                    _add(tar, name, layer)
                    written.add(name)
                layer_names.append(name)
            if cfg_name not in written:
                _add(tar, cfg_name, img.config)
                written.add(cfg_name)
            manifest.append({"Config": cfg_name, "RepoTags": img.tags or None, "Layers": layer_names})
        _add(tar, "manifest.json", json.dumps(manifest).encode())
    return buf.getvalue()


def oci_archive(images: Sequence[Img], index_extra: Sequence[dict[str, Any]] = ()) -> bytes:
    buf = io.BytesIO()
    index = []
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _add(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        blobs: dict[str, bytes] = {}
        for img in images:
            layer_descs = []
            for layer in img.layers:
                media = "application/vnd.oci.image.layer.v1.tar"
                if layer[:2] == b"\x1f\x8b":
                    media += "+gzip"
                elif layer[:4] == b"\x28\xb5\x2f\xfd":
                    media += "+zstd"
                blobs[sha256(layer)] = layer
                layer_descs.append({"mediaType": media, "digest": sha256(layer), "size": len(layer)})
            blobs[sha256(img.config)] = img.config
            manifest = json.dumps({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": sha256(img.config), "size": len(img.config)},
                "layers": layer_descs,
            }).encode()
            blobs[sha256(manifest)] = manifest
            desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha256(manifest),
                    "size": len(manifest)}
            for tag in img.tags or [""]:
                entry = dict(desc)
                if tag:
                    entry["annotations"] = {"io.containerd.image.name": tag,
                                            "org.opencontainers.image.ref.name": tag.rsplit(":", 1)[-1]}
                index.append(entry)
        for digest, data in blobs.items():
            _add(tar, f"blobs/sha256/{digest[7:]}", data)
        index.extend(index_extra)
        _add(tar, "index.json", json.dumps({"schemaVersion": 2, "manifests": index}).encode())
    return buf.getvalue()
