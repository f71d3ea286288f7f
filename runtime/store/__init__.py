"""Engine storage: a content-addressed blob store and the sqlite metadata beside it."""

from runtime.store.blobs import BlobStore, BlobWriter, DigestMismatch, is_digest
from runtime.store.metadata import ImageRecord, LayerBlob, Metadata, RefRow

__all__ = [
    "BlobStore",
    "BlobWriter",
    "DigestMismatch",
    "ImageRecord",
    "LayerBlob",
    "Metadata",
    "RefRow",
    "is_digest",
]
