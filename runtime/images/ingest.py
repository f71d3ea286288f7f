"""Adding an image piece by piece (a registry pull): blobs and snapshots made under a lease,
recorded in one transaction at the end.

`ImageStore.ingest()` gives an `Ingest`; what it made but did not record (a failed or killed
pull) is collected when it ends, or by `repair()` at the next start.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from runtime.images import oci
from runtime.images.errors import ImageInvalid
from runtime.images.leases import Lease
from runtime.images.snapshots import Snapshots
from runtime.store.blobs import BlobStore, BlobWriter
from runtime.store.metadata import ImageRecord, LayerBlob, Metadata, SnapshotRow

T = TypeVar("T")


@dataclass(frozen=True)
class LayerDone:
    """One layer of the image being added: its chain and blob, and what is new about it."""

    chain: str
    blob: str
    blob_row: LayerBlob | None  # None: the blob is known already
    snapshot_row: SnapshotRow | None  # None: the snapshot existed already
    size: int  # bytes of the snapshot's files


class Ingest:
    def __init__(
        self, lock: threading.RLock, blobs: BlobStore, snapshots: Snapshots, meta: Metadata, lease: Lease
    ) -> None:
        self._lock, self._blobs, self._snapshots, self._meta, self.lease = lock, blobs, snapshots, meta, lease

    # what is there already

    def known_layer(self, chain: str, blob: str) -> LayerDone | None:
        """The layer when both its snapshot and its blob are stored (leased from now on)."""
        self.lease.add(chain)
        self.lease.add(blob)
        row, blob_row = self._meta.snapshot(chain), self._meta.layer_blob(blob)
        if row is None or blob_row is None or not self._snapshots.exists(chain) or not self._blobs.exists(blob):
            return None
        return LayerDone(chain, blob, None, None, row.size)

    def snapshot_exists(self, chain: str) -> bool:
        self.lease.add(chain)
        return self._meta.snapshot(chain) is not None and self._snapshots.exists(chain)

    def snapshot_size(self, chain: str) -> int:
        row = self._meta.snapshot(chain)
        return row.size if row is not None else 0

    def image_by_ref(self, name: str) -> tuple[str, str | None] | None:
        """(image ID, its manifest digest) of the image `name` points at (leased), if any."""
        image_id = self._meta.ref(name)
        image = self._meta.image(image_id) if image_id is not None else None
        if image is None:
            return None
        self.lease.add(image.id)
        return image.id, image.manifest

    # adding content

    def blob_writer(self, digest: str) -> BlobWriter:
        self.lease.add(digest)
        return self._blobs.writer()

    def put(self, data: bytes, expected: str) -> str:
        self.lease.add(expected)
        return self._blobs.put_bytes(data, expected)

    def read_blob(self, digest: str) -> bytes | None:
        self.lease.add(digest)
        return self._blobs.read_bytes(digest) if self._blobs.exists(digest) else None

    def create_snapshot(self, chain: str, fill: Callable[[Path], T]) -> T | None:
        self.lease.add(chain)
        return self._snapshots.create(chain, fill)

    # recording

    def set_ref(self, name: str, image_id: str, kind: str) -> None:
        with self._lock:
            self._meta.set_ref(name, image_id, kind, time.time())

    def commit(self, config: bytes, manifest_digest: str | None, layers: Sequence[LayerDone],
               refs: Sequence[tuple[str, str]]) -> str:
        """Record the image (config stored now) and point `refs` at it; returns its ID."""
        image_id = oci.sha256_digest(config)
        self.put(config, image_id)
        parsed = oci.parse_object(config, f"image config {image_id}")
        if len(oci.config_diff_ids(parsed)) != len(layers):
            raise ImageInvalid(f"image {image_id}: config and manifest disagree on the number of layers")
        record = ImageRecord(image_id, str(parsed.get("created") or ""), sum(layer.size for layer in layers),
                             manifest_digest, time.time(), tuple((layer.chain, layer.blob) for layer in layers))
        blobs = [layer.blob_row for layer in layers if layer.blob_row is not None]
        snapshots = [layer.snapshot_row for layer in layers if layer.snapshot_row is not None]
        with self._lock:
            self._meta.add_image(record, blobs, snapshots, refs, time.time())
        return image_id
