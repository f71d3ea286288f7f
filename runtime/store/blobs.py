"""Content-addressed blobs on disk: `blobs/sha256/<hex>`, written crash-safely.

Every blob is streamed into `blobs/ingest/` while it is hashed, fsynced, then renamed
into place and the directory fsynced: a file under `blobs/sha256/` is always whole, and
what a kill leaves behind is only an ingest file, which `repair()` removes.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from runtime.store.durable import fsync_dir

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
CHUNK = 1 << 20


class DigestMismatch(ValueError):
    """Content read does not hash to the digest that names it."""


def is_digest(value: str) -> bool:
    return _DIGEST.fullmatch(value) is not None


class BlobWriter:
    """One blob being written; `commit()` makes it visible under its digest, atomically."""

    def __init__(self, store: BlobStore) -> None:
        self._store = store
        self.temp = store.ingest_dir / f"ingest-{os.getpid()}-{secrets.token_hex(8)}"
        self._file: BinaryIO | None = open(self.temp, "xb", buffering=0)  # noqa: SIM115 - closed in commit/abort
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        assert self._file is not None, "blob writer already closed"
        self._hash.update(data)
        view = memoryview(data)
        while view:
            written = self._file.write(view)
            view = view[written or 0 :]
        self.size += len(data)
        return len(data)

    def copy_from(self, src: BinaryIO, limit: int | None = None) -> int:
        """Copy up to `limit` bytes (all when None) from `src`; returns the count copied."""
        total = 0
        while limit is None or total < limit:
            want = CHUNK if limit is None else min(CHUNK, limit - total)
            chunk = src.read(want)
            if not chunk:
                break
            self.write(chunk)
            total += len(chunk)
        return total

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()

    def hash_state(self) -> hashlib._Hash:
        """The sha256 of what was written so far, as a state a blob starting alike can go on from (adopt)."""
        return self._hash.copy()

    def adopt(self, source: int, length: int, state: hashlib._Hash) -> None:
        """Begin this (empty) blob with the first `length` bytes of the open file `source`, whose sha256
        state after them is `state`: copied by the kernel, not hashed again."""
        assert self._file is not None and self.size == 0, "adopt starts an empty blob"
        fd = self._file.fileno()
        copied = 0
        try:
            while copied < length:
                n = os.copy_file_range(source, fd, length - copied, copied)
                if n == 0:
                    break
                copied += n
        except OSError:
            pass  # a file system without it: the rest through user space
        while copied < length:
            piece = os.pread(source, min(CHUNK, length - copied), copied)
            if not piece:
                raise OSError(f"blob to adopt ends at {copied} of {length} bytes")
            os.pwrite(fd, piece, copied)
            copied += len(piece)
        os.lseek(fd, length, os.SEEK_SET)
        self._hash = state.copy()
        self.size = length

    def commit(self, expected: str | None = None) -> str:
        """fsync, verify against `expected`, and move into place; returns the digest."""
        assert self._file is not None, "blob writer already closed"
        digest = self.digest
        try:
            if expected is not None and expected != digest:
                raise DigestMismatch(f"content has digest {digest}, expected {expected}")
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
            final = self._store.path(digest)
            if final.exists():
                self.temp.unlink()
            else:
                os.replace(self.temp, final)
                fsync_dir(final.parent)
        except BaseException:
            self.abort()
            raise
        return digest

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self.temp.unlink(missing_ok=True)

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Leaving without commit() (or with an error) must not leave a half blob behind.
        self.abort()


class BlobStore:
    """Blobs named by their sha256 digest under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data_dir = root / "sha256"
        self.ingest_dir = root / "ingest"
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.ingest_dir.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        if not is_digest(digest):
            raise ValueError(f"invalid digest {digest!r}: only sha256:<64 hex> is supported")
        return self.data_dir / digest[len("sha256:") :]

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def size(self, digest: str) -> int:
        return self.path(digest).stat().st_size

    def open(self, digest: str) -> BinaryIO:
        return open(self.path(digest), "rb")

    def read_bytes(self, digest: str, verify: bool = True) -> bytes:
        data = self.path(digest).read_bytes()
        if verify and "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise DigestMismatch(f"blob {digest} is corrupt")
        return data

    def writer(self) -> BlobWriter:
        return BlobWriter(self)

    def put_bytes(self, data: bytes, expected: str | None = None) -> str:
        with self.writer() as w:
            w.write(data)
            return w.commit(expected)

    def put_stream(self, src: BinaryIO, expected: str | None = None, limit: int | None = None) -> str:
        with self.writer() as w:
            w.copy_from(src, limit)
            return w.commit(expected)

    def delete(self, digest: str) -> int:
        """Remove a blob; returns the bytes freed (0 when it was absent)."""
        path = self.path(digest)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return 0
        return size

    def digests(self) -> Iterator[str]:
        for entry in os.scandir(self.data_dir):
            name = "sha256:" + entry.name
            if is_digest(name):
                yield name

    def repair(self) -> list[str]:
        """Remove what an interrupted write left: ingest files and misnamed files. Returns them."""
        removed: list[str] = []
        for entry in os.scandir(self.ingest_dir):
            os.unlink(entry.path)
            removed.append(entry.path)
        for entry in os.scandir(self.data_dir):
            if not is_digest("sha256:" + entry.name) or not entry.is_file(follow_symlinks=False):
                if entry.is_dir(follow_symlinks=False):
                    continue
                os.unlink(entry.path)
                removed.append(entry.path)
        return removed
