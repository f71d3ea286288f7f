"""From an image config and its layer blobs to snapshots and a record ready to commit.

Layers are applied bottom-up, each into the snapshot of its chain ID unless that snapshot
exists already (shared with another image). Each layer's DiffID is computed while it is
applied and checked against the config before the snapshot is published.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.images.compression import HashingReader, decompressed
from runtime.images.errors import ImageInvalid, LayerError
from runtime.images.layers import CHUNK, ApplyResult, Reuse, apply_layer
from runtime.images.leases import Lease
from runtime.images.oci import chain_ids, config_diff_ids, layer_media_type, parse_object, sha256_digest
from runtime.images.snapshots import Snapshots
from runtime.store.blobs import BlobStore
from runtime.store.metadata import ImageRecord, LayerBlob, Metadata, SnapshotRow


@dataclass
class Prepared:
    record: ImageRecord
    config: dict[str, Any]
    blobs: list[LayerBlob] = field(default_factory=list)
    snapshots: list[SnapshotRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Applied:
    diff_id: str
    tar_size: int
    compression: str
    result: ApplyResult


def apply_blob(path: Path, dest: Path, what: str, reuse: Reuse | None = None, written: str = "") -> Applied:
    """Extract a layer blob into `dest`; `written`: the DiffID of an uncompressed blob this process
    has just written and hashed (a commit's or a build step's), not hashed a second time."""
    if written:
        with open(path, "rb") as raw:
            result = apply_layer(io.BufferedReader(raw, CHUNK), dest, what, reuse=reuse)
        return Applied(written, path.stat().st_size, "none", result)
    with decompressed(path) as (plain, compression):
        reader = HashingReader(plain)
        # tarfile reads 10 KiB a call: a 1 MiB read-ahead between it and the hashing (what the
        # buffer holds past the tar's end is hashed all the same, and drained below).
        result = apply_layer(io.BufferedReader(reader, CHUNK), dest, what, reuse=reuse)
        reader.drain()
    return Applied(reader.digest, reader.count, compression, result)


def measure_blob(path: Path) -> tuple[str, int, str]:
    """(DiffID, uncompressed size, compression) of a layer blob, without extracting it."""
    with decompressed(path) as (plain, compression):
        reader = HashingReader(plain)
        reader.drain()
    return reader.digest, reader.count, compression


def tree_size(root: Path) -> int:
    seen: set[int] = set()
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            st = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISREG(st.st_mode) and st.st_ino not in seen:
                seen.add(st.st_ino)
                total += st.st_size
    return total


class Unpacker:
    def __init__(self, blobs: BlobStore, snapshots: Snapshots, meta: Metadata) -> None:
        self.blobs = blobs
        self.snapshots = snapshots
        self.meta = meta

    def prepare(
        self,
        config_bytes: bytes,
        layer_blobs: Sequence[str],
        lease: Lease,
        now: float,
        manifest: str | None = None,
        reuse: Reuse | None = None,
        written: str = "",
    ) -> Prepared:
        """Store the config, apply every layer; returns what `Metadata.add_image` records. `written`:
        an uncompressed layer blob the caller has just written (its digest is its DiffID)."""
        image_id = sha256_digest(config_bytes)
        lease.add(image_id)
        self.blobs.put_bytes(config_bytes, image_id)
        config = parse_object(config_bytes, f"image config {image_id}")
        diff_ids = config_diff_ids(config, f"image config {image_id}")
        if len(diff_ids) != len(layer_blobs):
            raise ImageInvalid(
                f"image {image_id}: config lists {len(diff_ids)} layers but {len(layer_blobs)} were given"
            )
        prepared = Prepared(
            ImageRecord(image_id, str(config.get("created") or ""), 0, manifest, now, ()), config
        )
        chains = chain_ids(diff_ids)
        layers: list[tuple[str, str]] = []
        size = 0
        for index, (diff_id, chain, blob) in enumerate(zip(diff_ids, chains, layer_blobs, strict=True)):
            lease.add(blob)
            lease.add(chain)
            what = f"layer {index + 1}/{len(diff_ids)} ({blob[:19]})"
            parent = chains[index - 1] if index else ""
            row = self._layer(diff_id, chain, parent, blob, what, prepared, reuse, written == blob == diff_id)
            layers.append((chain, blob))
            size += row.size
        prepared.record = ImageRecord(
            image_id, prepared.record.created, size, manifest, now, tuple(layers)
        )
        return prepared

    def _layer(self, diff_id: str, chain: str, parent: str, blob: str, what: str, out: Prepared,
               reuse: Reuse | None = None, just_written: bool = False) -> SnapshotRow:
        known_blob = self.meta.layer_blob(blob)
        if known_blob is not None and known_blob.diff_id != diff_id:
            raise LayerError(f"{what}: blob holds DiffID {known_blob.diff_id}, config says {diff_id}")
        row = self.meta.snapshot(chain)
        if row is not None and self.snapshots.exists(chain):
            if known_blob is None:
                out.blobs.append(self._measure(blob, diff_id, what))
            return row

        def fill(fs: Path) -> Applied:
            applied = apply_blob(self.blobs.path(blob), fs, what, reuse, diff_id if just_written else "")
            if applied.diff_id != diff_id:
                raise LayerError(f"{what}: content has DiffID {applied.diff_id}, config says {diff_id}")
            return applied

        applied = self.snapshots.create(chain, fill)
        if applied is None:  # published meanwhile by a concurrent load
            if known_blob is None:
                out.blobs.append(self._measure(blob, diff_id, what))
            row = SnapshotRow(chain, diff_id, parent, tree_size(self.snapshots.fs(chain)))
        else:
            out.warnings.extend(f"{what}: {s}" for s in applied.result.skipped)
            if known_blob is None:
                out.blobs.append(
                    LayerBlob(blob, diff_id, layer_media_type(applied.compression), self.blobs.size(blob),
                              applied.tar_size)
                )
            row = SnapshotRow(chain, diff_id, parent, applied.result.size)
        out.snapshots.append(row)
        return row

    def _measure(self, blob: str, diff_id: str, what: str) -> LayerBlob:
        measured, tar_size, compression = measure_blob(self.blobs.path(blob))
        if measured != diff_id:
            raise LayerError(f"{what}: content has DiffID {measured}, config says {diff_id}")
        return LayerBlob(blob, diff_id, layer_media_type(compression), self.blobs.size(blob), tar_size)
