"""The build context: the request's tar (plain, gzip, bzip2, xz or zstd) unpacked into a private
directory under the state root, and the Dockerfile found in it.

Extraction is the image store's safe layer extractor (nothing lands outside the directory,
links are checked). The directory is the build's and is removed when it ends.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import os
import posixpath
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from runtime.build.globs import Excluder
from runtime.errors import bad_request
from runtime.images.compression import decompressed, sniff
from runtime.images.errors import LayerError
from runtime.images.layers import Reuse, apply_layer

MODE = 0o700
CHUNK = 1 << 20  # the tar is read from a buffer of this size (tarfile reads 10 KiB a call)
STALE = 24 * 3600  # seconds after which a build's leftover work directory is removed


@dataclass(frozen=True)
class Context:
    root: Path  # the unpacked context
    dockerfile: str  # the Dockerfile's path inside it, as found
    text: str  # the Dockerfile's content
    named: Path | None = None  # the local named contexts' folders (named.py), taken out of root


def build_root(state_root: Path) -> Path:
    path = state_root / "build"
    path.mkdir(mode=MODE, exist_ok=True)
    return path


@contextmanager
def work_dir(state_root: Path) -> Iterator[Path]:
    """A private directory for one build, removed afterwards."""
    tmp = build_root(state_root) / "tmp"
    tmp.mkdir(mode=MODE, exist_ok=True)
    for stale in tmp.iterdir():  # what a build killed with its engine left behind
        with contextlib.suppress(OSError):
            if stale.stat().st_mtime < time.time() - STALE:
                shutil.rmtree(stale, ignore_errors=True)
    path = Path(tempfile.mkdtemp(prefix="build-", dir=tmp))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def unpack(stream: BinaryIO, dest: Path, reuse: Reuse | None = None,
           seen: Callable[[tarfile.TarInfo], None] | None = None) -> None:
    """Extract the context tar from `stream` into the empty directory `dest` (`seen`: see apply_layer)."""
    reader: BinaryIO = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream)  # type: ignore[type-var]
    kind = sniff(reader.peek(8)[:8])  # type: ignore[attr-defined]
    try:
        if kind == "zstd":  # through the helper process, which wants a file
            spool = dest.with_name(dest.name + ".tar.zst")
            with open(spool, "wb") as out:
                shutil.copyfileobj(reader, out, 1 << 20)
            try:
                with decompressed(spool) as (plain, _):
                    apply_layer(io.BufferedReader(_Padded(plain), CHUNK), dest, "build context", reuse=reuse, seen=seen)
            finally:
                spool.unlink(missing_ok=True)
            return
        with _plain(reader, kind) as plain:
            apply_layer(io.BufferedReader(_Padded(plain), CHUNK), dest, "build context", reuse=reuse, seen=seen)
    except LayerError as exc:
        raise bad_request(str(exc)) from None
    except (OSError, EOFError, lzma.LZMAError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise
        raise bad_request(f"build context: {exc}") from None


class _Padded(io.RawIOBase):
    """The tar stream with its end blocks made up when missing: the docker CLI's `-f -` context
    ends right after the last file's data (Go's tar reader takes that; Python's wants the end)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._count = 0
        self._tail: bytes | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, target: memoryview) -> int:  # type: ignore[override]
        if self._tail is None:
            data = self._stream.read(len(target))
            if data:
                self._count += len(data)
                target[: len(data)] = data
                return len(data)
            self._tail = b"\0" * ((-self._count) % 512 + 1024)
        n = min(len(target), len(self._tail))
        target[:n] = self._tail[:n]
        self._tail = self._tail[n:]
        return n


@contextmanager
def _plain(reader: BinaryIO, kind: str) -> Iterator[BinaryIO]:
    if kind == "gzip":
        with gzip.GzipFile(fileobj=reader, mode="rb") as gz:
            yield gz  # type: ignore[misc]
    elif kind == "bzip2":
        with bz2.BZ2File(reader) as bz:
            yield bz  # type: ignore[misc]
    elif kind == "xz":
        with lzma.LZMAFile(reader) as xz:
            yield xz  # type: ignore[misc]
    else:
        yield reader


def find_dockerfile(root: Path, name: str, explicit: bool) -> Context:
    """The Dockerfile at `name` in the context (dockerd: `dockerfile` is relative to the context;
    without one, `Dockerfile` then `dockerfile`)."""
    clean = posixpath.normpath("/" + name.replace("\\", "/")).lstrip("/")
    if name.startswith("..") or posixpath.normpath(name).startswith(".."):
        raise bad_request(f"Forbidden path outside the build context: {name} ()")
    candidates = [clean] if explicit else [clean, "dockerfile"]
    for candidate in candidates:
        path = _inside(root, candidate)
        if path is not None and path.is_file():
            data = path.read_bytes()
            if not data.strip():
                raise bad_request(f"the Dockerfile ({name}) cannot be empty")
            return Context(root, candidate, data.decode("utf-8", errors="replace"))
    raise bad_request(f"Cannot locate specified Dockerfile: {name}")


def _inside(root: Path, relative: str) -> Path | None:
    """root/relative if no symlink on the way leads out of root."""
    real_root = os.path.realpath(root)
    path = os.path.realpath(root / relative)
    if path != real_root and not path.startswith(real_root + os.sep):
        return None
    return Path(path)


def remove_ignored_files(ctx: Context) -> bool:
    """dockerd drops the Dockerfile and .dockerignore from the context when .dockerignore's rules
    exclude them (the CLI puts a Dockerfile from stdin under a random name it lists there); the
    CLI has already left out everything else the file excludes. Whether one was removed."""
    ignore = ctx.root / ".dockerignore"
    if not ignore.is_file():
        return False
    lines = ignore.read_text(errors="replace").splitlines()
    try:
        rules = Excluder([line.strip() for line in lines if line.strip() and not line.startswith("#")])
    except ValueError as exc:
        raise bad_request(f"failed to parse .dockerignore: {exc}") from None
    removed = False
    for name in (ctx.dockerfile, ".dockerignore"):
        if rules.excluded(name) and os.path.lexists(ctx.root / name):
            (ctx.root / name).unlink()
            removed = True
    return removed
