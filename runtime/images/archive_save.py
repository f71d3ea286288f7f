"""Writing image archives to a (maybe unseekable) stream.

docker-archive is written as Docker 25+ does: an OCI layout (uncompressed layers under
their DiffIDs) plus `manifest.json`, so both `docker load` of any age and OCI tools read
it. An OCI archive keeps the layer blobs as stored (compressed or not) and an image's
original manifest when it has one, so its digest survives a load/save round trip.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from runtime.images import oci
from runtime.images.compression import decompressed
from runtime.images.errors import ImageError
from runtime.images.reference import Reference
from runtime.store.metadata import LayerBlob

CHUNK = 1 << 20
BLOCK = 512


class Source(Protocol):
    """What saving needs from the store."""

    def config_bytes(self, image_id: str) -> bytes: ...
    def layer_blobs(self, image_id: str) -> list[LayerBlob]: ...
    def blob_path(self, digest: str) -> Path: ...
    def manifest_bytes(self, image_id: str) -> bytes | None: ...


@dataclass(frozen=True)
class SaveItem:
    image_id: str
    tags: tuple[Reference, ...]


class TarWriter:
    """Minimal streaming tar writer: fixed owner and times, so equal input gives equal bytes."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.names: set[str] = set()

    def _header(self, name: str, size: int, kind: bytes, mode: int) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.type, info.mode, info.mtime = size, kind, mode, 0
        info.uname = info.gname = ""
        self.out.write(info.tobuf(tarfile.PAX_FORMAT))
        self.names.add(name)

    def _pad(self, size: int) -> None:
        if size % BLOCK:
            self.out.write(b"\0" * (BLOCK - size % BLOCK))

    def add_dir(self, name: str) -> None:
        self._header(name.rstrip("/") + "/", 0, tarfile.DIRTYPE, 0o755)

    def add_bytes(self, name: str, data: bytes) -> None:
        self._header(name, len(data), tarfile.REGTYPE, 0o644)
        self.out.write(data)
        self._pad(len(data))

    def add_stream(self, name: str, size: int, src: BinaryIO) -> None:
        self._header(name, size, tarfile.REGTYPE, 0o644)
        left = size
        while left:
            chunk = src.read(min(CHUNK, left))
            if not chunk:
                raise ImageError(f"save: {name} ended {left} bytes early (store damaged?)")
            self.out.write(chunk)
            left -= len(chunk)
        self._pad(size)

    def close(self) -> None:
        self.out.write(b"\0" * (BLOCK * 2))
        self.out.flush()


def _blob_name(digest: str) -> str:
    return "blobs/sha256/" + digest[len("sha256:") :]


def _annotated(desc: oci.Descriptor, tag: Reference | None) -> oci.Descriptor:
    if tag is None:
        return desc
    notes = {oci.ANNOTATION_IMAGE_NAME: str(tag), oci.ANNOTATION_REF_NAME: tag.tag or ""}
    return oci.Descriptor(desc.media_type, desc.digest, desc.size, notes)


def write_docker_archive(items: Sequence[SaveItem], source: Source, out: BinaryIO) -> None:
    tar = TarWriter(out)
    tar.add_dir("blobs")
    tar.add_dir("blobs/sha256")
    index: list[oci.Descriptor] = []
    manifest_json = []
    for item in items:
        config = source.config_bytes(item.image_id)
        _add_once(tar, _blob_name(item.image_id), config)
        layer_descs = []
        for layer in source.layer_blobs(item.image_id):
            name = _blob_name(layer.diff_id)
            if name not in tar.names:
                with decompressed(source.blob_path(layer.digest)) as (plain, _kind):
                    tar.add_stream(name, layer.tar_size, plain)
            layer_descs.append(oci.Descriptor(oci.OCI_LAYER, layer.diff_id, layer.tar_size))
        manifest = oci.make_manifest(item.image_id, len(config), layer_descs)
        desc = oci.Descriptor(oci.OCI_MANIFEST, oci.sha256_digest(manifest), len(manifest))
        _add_once(tar, _blob_name(desc.digest), manifest)
        index.extend(_annotated(desc, tag) for tag in item.tags or (None,))
        manifest_json.append(
            {
                "Config": _blob_name(item.image_id),
                "RepoTags": [t.familiar() for t in item.tags] or None,
                "Layers": [_blob_name(d.digest) for d in layer_descs],
            }
        )
    tar.add_bytes("index.json", oci.make_index(index))
    tar.add_bytes("manifest.json", oci.canonical_json(manifest_json))
    tar.add_bytes("oci-layout", oci.canonical_json({"imageLayoutVersion": oci.LAYOUT_VERSION}))
    tar.close()


def write_oci_archive(items: Sequence[SaveItem], source: Source, out: BinaryIO) -> None:
    tar = TarWriter(out)
    tar.add_bytes("oci-layout", oci.canonical_json({"imageLayoutVersion": oci.LAYOUT_VERSION}))
    tar.add_dir("blobs")
    tar.add_dir("blobs/sha256")
    index: list[oci.Descriptor] = []
    for item in items:
        config = source.config_bytes(item.image_id)
        _add_once(tar, _blob_name(item.image_id), config)
        layers = source.layer_blobs(item.image_id)
        for layer in layers:
            name = _blob_name(layer.digest)
            if name not in tar.names:
                with open(source.blob_path(layer.digest), "rb") as src:
                    tar.add_stream(name, layer.size, src)
        manifest = source.manifest_bytes(item.image_id)
        if manifest is None:
            descs = [oci.Descriptor(layer.media_type, layer.digest, layer.size) for layer in layers]
            manifest = oci.make_manifest(item.image_id, len(config), descs)
        media = json.loads(manifest).get("mediaType") or oci.OCI_MANIFEST
        desc = oci.Descriptor(media, oci.sha256_digest(manifest), len(manifest))
        _add_once(tar, _blob_name(desc.digest), manifest)
        index.extend(_annotated(desc, tag) for tag in item.tags or (None,))
    tar.add_bytes("index.json", oci.make_index(index))
    tar.close()


def _add_once(tar: TarWriter, name: str, data: bytes) -> None:
    if name not in tar.names:
        tar.add_bytes(name, data)

