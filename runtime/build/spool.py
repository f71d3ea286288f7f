"""The request body of a build, kept while it is cut into hashed records (tar_records.py): in
memory up to SPILL bytes (writing 52 MB to this disk and deleting it costs ~0.1 s), past that
in a file of the build's work directory."""

from __future__ import annotations

import hashlib
import io
import os
import queue
import threading
from pathlib import Path
from typing import BinaryIO

from runtime.build.tar_records import RecordCutter

CHUNK = 1 << 20
SPILL = 128 << 20  # bytes of context kept in memory while it is hashed


class _Hasher(threading.Thread):
    """Cuts the chunks put on its queue (None ends) into records, each hashed (tar_records.py),
    while the body's next ones are received: sha256 releases the GIL, and the event loop reads
    the socket meanwhile."""

    def __init__(self) -> None:
        super().__init__(name="context-hash", daemon=True)
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self.cutter = RecordCutter()

    def run(self) -> None:
        while (chunk := self.queue.get()) is not None:
            self.cutter.feed(chunk)
        self.cutter.close()


class Spool(io.RawIOBase):
    """The request body, cut into hashed records as it arrives and kept for unpacking on a miss: in
    memory up to SPILL bytes (writing 52 MB to this disk and deleting it costs ~0.1 s), past that
    in `path`. `digest` names the content: the records' hashes, or the whole body's when the tar
    could not be cut (then `records` is None)."""

    def __init__(self, body: BinaryIO, path: Path) -> None:
        self.chunks: list[bytes] = []
        self.file: BinaryIO | None = None
        self.path = path
        self.size = 0
        hasher = _Hasher()
        hasher.start()
        try:
            while chunk := body.read(CHUNK):
                hasher.queue.put(chunk)
                self.size += len(chunk)
                if self.file is None and self.size > SPILL:
                    self.file = open(path, "w+b")  # noqa: SIM115 - closed by close()
                    self.file.writelines(self.chunks)
                    self.chunks = []
                if self.file is not None:
                    self.file.write(chunk)
                else:
                    self.chunks.append(chunk)
        except BaseException:
            self.close()
            raise
        finally:
            hasher.queue.put(None)
            hasher.join()
        cutter = hasher.cutter
        self.records = cutter.records if cutter.usable else None
        if self.records is not None:
            self.digest = hashlib.sha256("".join(r.digest for r in self.records).encode()).hexdigest()
        else:
            whole = hashlib.sha256()
            for start in range(0, self.size, CHUNK):
                whole.update(self.read_range(start, min(start + CHUNK, self.size)))
            self.digest = whole.hexdigest()
        self._next = 0  # the next chunk readinto takes
        self._view = memoryview(b"")
        if self.file is not None:
            self.file.seek(0)

    def read_range(self, start: int, end: int) -> bytes:
        """The body's bytes from `start` to `end`."""
        if self.file is not None:
            return os.pread(self.file.fileno(), end - start, start)
        parts, offset = [], 0
        for chunk in self.chunks:
            if offset >= end:
                break
            if offset + len(chunk) > start:
                parts.append(chunk[max(0, start - offset): end - offset])
            offset += len(chunk)
        return b"".join(parts)

    def readable(self) -> bool:
        return True

    def readinto(self, target: memoryview) -> int:  # type: ignore[override]
        if self.file is not None:
            return self.file.readinto(target)  # type: ignore[attr-defined]
        if not self._view and self._next < len(self.chunks):
            self._view = memoryview(self.chunks[self._next])
            self._next += 1
        n = min(len(target), len(self._view))
        target[:n] = self._view[:n]
        self._view = self._view[n:]
        return n

    def close(self) -> None:
        self.chunks = []
        self._view = memoryview(b"")
        if self.file is not None:
            self.file.close()
            self.path.unlink(missing_ok=True)
        super().close()
