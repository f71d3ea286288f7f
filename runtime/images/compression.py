"""Layer compression: recognise it by its magic bytes, read through it, hash what comes out."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from runtime.images.errors import ImageInvalid

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

CHUNK = 1 << 20
_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)


def sniff(head: bytes) -> str:
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return "none"


class HashingReader(io.RawIOBase):
    """Passes reads through while counting and sha256-hashing every byte."""

    def __init__(self, src: BinaryIO) -> None:
        self._src = src
        self._hash = hashlib.sha256()
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._src.read(size)
        if data:
            self._hash.update(data)
            self.count += len(data)
        return data

    def readinto(self, buffer: WriteableBuffer) -> int:  # so that io.BufferedReader can read ahead
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True

    def drain(self) -> None:
        while self.read(CHUNK):
            pass

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()


@contextmanager
def decompressed(path: Path) -> Iterator[tuple[BinaryIO, str]]:
    """Open a (maybe compressed) layer blob; yields (plain tar stream, compression name)."""
    with open(path, "rb") as raw:
        kind = sniff(raw.read(8))
        raw.seek(0)
        if kind == "gzip":
            with gzip.GzipFile(fileobj=raw, mode="rb") as gz:
                yield gz, kind  # type: ignore[misc]
        elif kind == "bzip2":
            with bz2.BZ2File(raw) as bz:
                yield bz, kind  # type: ignore[misc]
        elif kind == "xz":
            with lzma.LZMAFile(raw) as xz:
                yield xz, kind  # type: ignore[misc]
        elif kind == "zstd":
            # The child reads the fd itself: start it at 0, whatever our buffer read ahead.
            os.lseek(raw.fileno(), 0, os.SEEK_SET)
            with _zstd(raw) as out:
                yield out, kind
        else:
            yield raw, kind


@contextmanager
def _zstd(raw: BinaryIO) -> Iterator[BinaryIO]:
    # Python 3.11 has no zstd module; the zstd program streams at disk speed.
    program = shutil.which("zstd")
    if program is None:
        raise ImageInvalid("layer is zstd-compressed but the zstd program is not installed")
    proc = subprocess.Popen([program, "-dcq"], stdin=raw, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        yield proc.stdout  # type: ignore[misc]
        rest = proc.stdout.read()
        if rest:
            raise ImageInvalid("zstd layer has data after the end of its tar archive")
    finally:
        proc.stdout.close()
        err = proc.stderr.read().decode(errors="replace").strip()
        proc.stderr.close()
        code = proc.wait()
    if code != 0:
        raise ImageInvalid(f"cannot decompress zstd layer: {err or f'zstd exited with {code}'}")
