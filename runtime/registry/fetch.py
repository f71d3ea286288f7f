"""One layer from a registry: downloaded, verified and extracted while it streams.

`BlobSource` reads a blob over HTTP as a file, writing every byte to the blob store's ingest
file as it goes; a dropped connection is resumed with `Range` (or the prefix skipped when the
registry ignores it), retried with a growing wait. The consumer decompresses (gzip, zstd or
none) and applies the tar into a new snapshot; the blob is committed (digest and size checked)
before the snapshot is published, so nothing unverified becomes visible.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx

from runtime.images.compression import CHUNK, HashingReader, sniff
from runtime.images.errors import ImageInvalid
from runtime.images.layers import ApplyResult, apply_layer
from runtime.images.oci import Descriptor
from runtime.registry.client import RegistryClient, describe_exception
from runtime.registry.errors import InvalidContent, RegistryError, Unreachable
from runtime.store.blobs import BlobWriter, DigestMismatch

_DROPPED = (httpx.ReadError, httpx.RemoteProtocolError, httpx.ReadTimeout, httpx.ConnectError, httpx.WriteError)


@dataclass(frozen=True)
class Fetched:
    digest: str
    diff_id: str
    tar_size: int
    compression: str
    result: ApplyResult | None  # None when not extracted (the snapshot existed)


class BlobSource:
    """A registry blob as a readable file; every byte read is also written to `writer`."""

    def __init__(self, client: RegistryClient, repository: str, desc: Descriptor, scope: str, writer: BlobWriter,
                 attempts: int, delay: float, on_bytes: Callable[[int], None],
                 on_retry: Callable[[int, float], None]) -> None:
        self._client, self._repo, self._desc, self._scope = client, repository, desc, scope
        self._writer, self._attempts, self._delay = writer, attempts, delay
        self._on_bytes, self._on_retry = on_bytes, on_retry
        self.offset = 0
        self._failures = 0
        self._response: httpx.Response | None = None
        self._chunks: Iterator[bytes] | None = None
        self._buffer = b""  # the rest of a first chunk after a skipped prefix
        self._current = memoryview(b"")  # the chunk being read, from `_pos`
        self._pos = 0
        self._eof = False

    def _open(self) -> None:
        headers = {"Range": f"bytes={self.offset}-"} if self.offset else {}
        url = f"/v2/{self._repo}/blobs/{self._desc.digest}"
        response = self._client.request("GET", url, self._scope, stream=True, headers=headers)
        self._client.check(response, f"fetching blob {self._desc.digest}")
        skip = 0
        if self.offset and response.status_code != 206:
            skip = self.offset  # the registry ignored Range: read the prefix again and drop it
        self._response = response
        chunks = response.iter_raw(CHUNK)
        while skip:
            chunk = next(chunks, b"")
            if not chunk:
                raise InvalidContent(f"blob {self._desc.digest} is shorter on a second read")
            if len(chunk) > skip:
                self._buffer = chunk[skip:]
                skip = 0
            else:
                skip -= len(chunk)
        self._chunks = chunks

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None
        self._chunks = None

    def _next_chunk(self) -> bytes:
        while True:
            try:
                if self._chunks is None:
                    self._open()
                if self._buffer:
                    chunk, self._buffer = self._buffer, b""
                    return chunk
                assert self._chunks is not None
                return next(self._chunks, b"")
            except (*_DROPPED, Unreachable) as exc:
                self.close()
                self._failures += 1
                if self._failures >= self._attempts:
                    text = describe_exception(exc) if isinstance(exc, httpx.HTTPError) else str(exc)
                    raise Unreachable(f"fetching blob {self._desc.digest}: {text}") from None
                wait = self._delay * (self._failures - 1)
                self._on_retry(self._failures, wait)
                time.sleep(wait)

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes; each network chunk is written to the blob once, as it arrives."""
        if self._pos >= len(self._current):
            if self._eof:
                return b""
            chunk = self._next_chunk()
            if not chunk:
                self._eof = True
                self.close()
                return b""
            self.offset += len(chunk)
            if self.offset > self._desc.size:
                raise InvalidContent(f"blob {self._desc.digest} is larger than the {self._desc.size} bytes announced")
            self._writer.write(chunk)
            self._on_bytes(self.offset)
            self._current, self._pos = memoryview(chunk), 0
        end = len(self._current) if size is None or size < 0 else min(len(self._current), self._pos + size)
        out = self._current[self._pos : end].tobytes()
        self._pos = end
        return out

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


class _Prefixed(io.RawIOBase):
    """A file that gives `head` first, then the rest of `src`."""

    def __init__(self, head: bytes, src: BlobSource) -> None:
        super().__init__()
        self._head, self._src = head, src

    def readable(self) -> bool:
        return True

    def readinto(self, target: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        if self._head:
            if size is None or size < 0 or size >= len(self._head):
                out, self._head = self._head, b""
                return out
            out, self._head = self._head[:size], self._head[size:]
            return out
        return self._src.read(-1 if size is None else size)


def _consume(plain: BinaryIO, dest: Path | None, what: str) -> tuple[str, int, ApplyResult | None]:
    reader = HashingReader(plain)
    result = apply_layer(reader, dest, what) if dest is not None else None  # type: ignore[arg-type]
    reader.drain()
    return reader.digest, reader.count, result


def _zstd_consume(src: _Prefixed, dest: Path | None, what: str) -> tuple[str, int, ApplyResult | None]:
    program = shutil.which("zstd")
    if program is None:
        raise ImageInvalid("layer is zstd-compressed but the zstd program is not installed")
    proc = subprocess.Popen([program, "-dcq"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert proc.stdin is not None and proc.stdout is not None
    failure: list[BaseException] = []

    def feed() -> None:
        try:
            while chunk := src.read(CHUNK):
                proc.stdin.write(chunk)  # type: ignore[union-attr]
        except BaseException as exc:  # handed to the consumer below
            failure.append(exc)
        finally:
            with contextlib.suppress(OSError):
                proc.stdin.close()  # type: ignore[union-attr]

    feeder = threading.Thread(target=feed, name="zstd-feed")
    feeder.start()
    try:
        out = _consume(proc.stdout, dest, what)  # type: ignore[arg-type]
        feeder.join()
    except BaseException:
        proc.kill()
        raise
    finally:
        proc.stdout.close()
        feeder.join()
        code = proc.wait()
    if failure:
        raise failure[0]
    if code != 0:
        raise ImageInvalid(f"{what}: cannot decompress zstd layer (zstd exited with {code})")
    return out


def fetch_layer(source: BlobSource, writer: BlobWriter, desc: Descriptor, dest: Path | None,
                what: str) -> Fetched:
    """Stream the blob through decompression (and into `dest` when given); commit the blob verified."""
    try:
        head = source.read(CHUNK)
        compression = sniff(head)
        stream = _Prefixed(head, source)
        try:
            if compression == "gzip":
                with gzip.GzipFile(fileobj=stream, mode="rb") as gz:
                    diff_id, tar_size, result = _consume(gz, dest, what)  # type: ignore[arg-type]
            elif compression == "zstd":
                diff_id, tar_size, result = _zstd_consume(stream, dest, what)
            elif compression == "none":
                diff_id, tar_size, result = _consume(stream, dest, what)  # type: ignore[arg-type]
            else:
                raise ImageInvalid(f"{what}: unsupported layer compression {compression}")
            source.drain()
        except Exception as exc:
            if isinstance(exc, RegistryError):
                raise
            _verify_after_failure(source, writer, desc)
            raise
        if source.offset != desc.size:
            raise InvalidContent(f"filesystem layer verification failed for digest {desc.digest}: "
                                 f"{source.offset} bytes, {desc.size} announced")
        try:
            writer.commit(desc.digest)
        except DigestMismatch:
            raise InvalidContent(f"filesystem layer verification failed for digest {desc.digest}") from None
    finally:
        source.close()
    return Fetched(desc.digest, diff_id, tar_size, compression, result)


def _verify_after_failure(source: BlobSource, writer: BlobWriter, desc: Descriptor) -> None:
    """A layer that failed to decompress or apply: corrupt in transit says so, not a gzip error."""
    try:
        source.drain()
    except RegistryError:
        return
    if writer.digest != desc.digest:
        raise InvalidContent(f"filesystem layer verification failed for digest {desc.digest}") from None
