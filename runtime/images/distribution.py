"""What a push reads from the image store: an image's parts, a repository's tags, the other
repositories of a registry that hold a blob (for cross-repository mounts); and the digest
reference a push records."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from runtime.images.errors import ImageInvalid, ImageNotFound
from runtime.images.reference import parse
from runtime.store.blobs import BlobStore
from runtime.store.metadata import ImageRecord, LayerBlob, Metadata


class Distribution:
    def __init__(self, lock: threading.RLock, blobs: BlobStore, meta: Metadata, resolve: Callable[[str], str]) -> None:
        self._lock, self._blobs, self._meta, self._resolve = lock, blobs, meta, resolve

    def image_parts(self, ref: str) -> tuple[ImageRecord, bytes, list[LayerBlob], bytes | None]:
        """(record, config, layer blobs lowest first, the manifest it came with) of an image."""
        with self._lock:
            image_id = self._resolve(ref)
            image = self._meta.image(image_id)
            if image is None:
                raise ImageNotFound(ref)
            rows = []
            for _chain, blob in image.layers:
                row = self._meta.layer_blob(blob)
                if row is None:
                    raise ImageInvalid(f"image {image.id}: layer blob {blob} is not recorded (store damaged?)")
                rows.append(row)
            manifest = self._blobs.read_bytes(image.manifest) if image.manifest else None
            return image, self._blobs.read_bytes(image.id), rows, manifest

    def blob_path(self, digest: str) -> Path:
        return self._blobs.path(digest)

    def tags_of(self, repository: str) -> list[str]:
        """Every tag of a normalized repository name (`docker push --all-tags`)."""
        out = []
        for row in self._meta.all_refs():
            if row.kind == "tag":
                ref = parse(row.name)
                if ref.name == repository and ref.tag:
                    out.append(ref.tag)
        return sorted(out)

    def repositories_with_blob(self, digest: str, domain: str) -> list[str]:
        """Paths of repositories on `domain` whose images (by any name) hold the blob."""
        found: list[str] = []
        with self._lock:
            for row in self._meta.all_refs():
                ref = parse(row.name)
                if ref.domain != domain or ref.path in found:
                    continue
                image = self._meta.image(row.image_id)
                if image is not None and any(blob == digest for _chain, blob in image.layers):
                    found.append(ref.path)
        return found

    def add_digest_ref(self, name: str, image_id: str) -> None:
        with self._lock:
            self._meta.set_ref(name, image_id, "digest", time.time())
