"""`docker import`: a root filesystem tar (plain or compressed) becomes a one-layer image."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from runtime.images import oci
from runtime.images.changes import apply_changes
from runtime.images.compression import CHUNK, sniff
from runtime.images.leases import Lease
from runtime.images.unpack import measure_blob
from runtime.store.blobs import BlobStore

DEFAULT_SOURCE = "-"


@dataclass(frozen=True)
class IngestedLayer:
    blob: str
    diff_id: str


def ingest_layer(stream: BinaryIO, blobs: BlobStore, lease: Lease) -> IngestedLayer:
    """Store the stream as a layer blob; an uncompressed tar is its own DiffID (no 2nd pass)."""
    with blobs.writer() as writer:
        head = stream.read(CHUNK)
        compression = sniff(head)
        writer.write(head)
        writer.copy_from(stream)
        lease.add(writer.digest)
        blob = writer.commit()
    if compression == "none":
        return IngestedLayer(blob, blob)
    diff_id, _size, _kind = measure_blob(blobs.path(blob))
    return IngestedLayer(blob, diff_id)


def import_config(
    diff_id: str, changes: Sequence[str], message: str, created: str, source: str = DEFAULT_SOURCE
) -> bytes:
    """The image config Docker writes for an import (history comment "Imported from -")."""
    comment = message or f"Imported from {source}"
    plat = oci.host_platform()
    config: dict[str, Any] = {
        "architecture": plat.architecture,
        **({"variant": plat.variant} if plat.variant and plat.architecture != "arm64" else {}),
        "comment": comment,
        "config": apply_changes(changes),
        "created": created,
        "history": [{"created": created, "comment": comment}],
        "os": plat.os,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    return oci.canonical_json(config)
