"""The content-addressed blob store: atomic writes, verification, repair."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from runtime.store import BlobStore, DigestMismatch, is_digest


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_put_read_delete(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    d = blobs.put_bytes(b"hello")
    assert d == digest(b"hello") and blobs.exists(d) and blobs.size(d) == 5
    assert blobs.read_bytes(d) == b"hello"
    assert blobs.put_bytes(b"hello") == d  # idempotent
    assert list(blobs.digests()) == [d]
    assert blobs.delete(d) == 5 and not blobs.exists(d) and blobs.delete(d) == 0


def test_stream_with_expected_digest(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    data = b"x" * (3 << 20)
    assert blobs.put_stream(io.BytesIO(data), expected=digest(data)) == digest(data)
    with pytest.raises(DigestMismatch):
        blobs.put_stream(io.BytesIO(b"other"), expected=digest(b"nope"))
    assert list((tmp_path / "ingest").iterdir()) == []


def test_writer_left_without_commit_leaves_nothing(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    with blobs.writer() as w:
        w.write(b"partial")
    assert list((tmp_path / "ingest").iterdir()) == [] and list(blobs.digests()) == []


def test_repair_removes_half_written_and_stray_files(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    good = blobs.put_bytes(b"good")
    w = blobs.writer()
    w.write(b"half")  # as a kill -9 would leave it
    (tmp_path / "sha256" / "not-a-digest").write_bytes(b"?")
    removed = BlobStore(tmp_path).repair()
    assert len(removed) == 2
    assert list(blobs.digests()) == [good] and list((tmp_path / "ingest").iterdir()) == []


def test_corruption_detected_on_read(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    d = blobs.put_bytes(b"content")
    blobs.path(d).write_bytes(b"tampered")
    with pytest.raises(DigestMismatch):
        blobs.read_bytes(d)


def test_digest_validation() -> None:
    assert is_digest("sha256:" + "a" * 64)
    assert not is_digest("sha256:" + "A" * 64) and not is_digest("sha512:" + "a" * 128)
    with pytest.raises(ValueError):
        BlobStore.path(BlobStore.__new__(BlobStore), "../etc/passwd")
