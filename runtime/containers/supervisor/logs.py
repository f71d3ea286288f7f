"""Docker's json-file and local log drivers: one entry per line, rotated by size.

`<bundle>/<id>-json.log` holds `{"log": "hi\\n", "stream": "stdout",
"time": "2024-05-01T10:00:00.123456789Z"}` lines. As Docker does, output is
cut into lines; a line longer than 16 KiB is written in 16 KiB pieces
without a newline (Docker's partial messages), and so is an unterminated
tail at EOF. Before each write, a file at or past max-size is rotated:
`.log` -> `.log.1` -> ... -> `.log.<max-file - 1>` (the oldest dropped);
with max-file 1 the file is truncated instead. With `compress`, each rotated file is gzipped
to `.log.1.gz` (... `.log.<max-file - 1>.gz`), as dockerd's loggerutils does: in a forked child, so
the supervisor goes on draining output (its orphan reaper collects the child; the next rotation
waits for it first). Readers prefer `.1` while both it and `.1.gz` exist.
The `local` driver writes dockerd's protobuf frames instead of JSON
(`log_local.py`), in `<bundle>/local-logs/container.log`.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from runtime.containers import log_local
from runtime.containers.supervisor.protocol import rfc3339nano

if TYPE_CHECKING:
    from runtime.containers.supervisor.state import ContainerRecord

PARTIAL_LIMIT = 16 * 1024


def log_path(bundle: str | Path, container_id: str) -> Path:
    return Path(bundle) / f"{container_id}-json.log"


def container_log(bundle: str | Path, record: ContainerRecord) -> JsonFileLog | None:
    """Where a container's output is kept: its json-file, or nowhere with Docker's `none` driver
    (the output is still read, and attach still sees it)."""
    if record.log_driver == "none":
        return None
    if record.log_driver == "local":
        path = log_local.local_path(bundle)
        path.parent.mkdir(mode=0o700, exist_ok=True)
        attrs = log_local.encode_attrs(record.log_attrs)
        return JsonFileLog(path, record.log_max_size, record.log_max_file, record.log_compress,
                           lambda stream, ns, line: log_local.encode(stream, ns, line, attrs))
    extra = record.log_attrs or None
    return JsonFileLog(log_path(bundle, record.id), record.log_max_size, record.log_max_file, record.log_compress,
                       lambda stream, ns, line: entry(stream, line, ns, extra))


def entry(stream: str, data: bytes, ns: int, attrs: dict[str, str] | None = None) -> bytes:
    """One json-file line; `attrs` as dockerd puts them, between the stream and the time."""
    text = data.decode("utf-8", errors="replace")
    item: dict[str, object] = {"log": text, "stream": stream}
    if attrs:
        item["attrs"] = attrs
    item["time"] = rfc3339nano(ns)
    return (json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


class LineSplitter:
    """Bytes in, log lines out: complete lines with their newline, or PARTIAL_LIMIT pieces."""

    def __init__(self, limit: int = PARTIAL_LIMIT) -> None:
        self.limit = limit
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out = []
        while self._buf:
            end = self._buf.find(b"\n", 0, self.limit)
            if end >= 0:
                cut = end + 1
            elif len(self._buf) >= self.limit:
                cut = self.limit
            else:
                break
            out.append(bytes(self._buf[:cut]))
            del self._buf[:cut]
        return out

    def flush(self) -> list[bytes]:
        rest, self._buf = bytes(self._buf), bytearray()
        return [rest] if rest else []


class JsonFileLog:
    """A rotated log file of entries made by `encode` (json-file's JSON lines by default)."""

    def __init__(self, path: Path, max_size: int | None = None, max_file: int = 1, compress: bool = False,
                 encode: Callable[[str, int, bytes], bytes] | None = None) -> None:
        self.path = path
        self.max_size = max_size if max_size and max_size > 0 else None
        self.max_file = max(1, max_file)
        self.compress = compress and self.max_file > 1
        self._compressing = 0  # the pid of the child gzipping the last rotated file
        self.encode = encode or (lambda stream, ns, line: entry(stream, line, ns))
        self._splitters = {"stdout": LineSplitter(), "stderr": LineSplitter()}
        self._fd = self._open()
        self.size = os.fstat(self._fd).st_size

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)

    def write(self, stream: str, data: bytes, ns: int) -> None:
        """Output as it was read from the container: split into lines, one entry each."""
        lines = self._splitters[stream].feed(data)
        self._write_batch(stream, lines, ns)

    def write_lines(self, stream: str, data: bytes, ns: int, final: bool) -> int:
        """The complete lines (and 16 KiB pieces) at the start of `data`, all of it if `final`; nothing
        is kept for later: the bytes logged, so the caller leaves the rest where it was (peek.py)."""
        splitter = LineSplitter()
        lines = splitter.feed(data) + (splitter.flush() if final else [])
        self._write_batch(stream, lines, ns)
        return sum(len(line) for line in lines)

    def _write_batch(self, stream: str, lines: list[bytes], ns: int) -> None:
        """One write for all (rotation permitting): a supervisor killed mid-chunk logged all or none."""
        if self._fd < 0:
            return
        batch = bytearray()
        for line in lines:
            if self.max_size is not None and self.size + len(batch) >= self.max_size:
                self._append(batch)
                batch.clear()
                self.rotate()
            batch += self.encode(stream, ns, line)
        self._append(batch)

    def _append(self, raw: bytes | bytearray) -> None:
        if raw:
            os.write(self._fd, raw)
            self.size += len(raw)

    def flush(self, ns: int) -> None:
        """Write what is left of unterminated lines (at EOF)."""
        for stream, splitter in self._splitters.items():
            for rest in splitter.flush():
                self.write_entry(stream, rest, ns)

    def write_entry(self, stream: str, line: bytes, ns: int) -> None:
        if self._fd < 0:
            return
        if self.max_size is not None and self.size >= self.max_size:
            self.rotate()
        raw = self.encode(stream, ns, line)
        os.write(self._fd, raw)
        self.size += len(raw)

    def rotate(self) -> None:
        os.close(self._fd)
        self._fd = -1
        if self.max_file < 2:
            os.truncate(self.path, 0)
        else:
            self._wait_compressed()
            ext = ".gz" if self.compress else ""
            for n in range(self.max_file - 1, 1, -1):
                older = self.path.with_name(f"{self.path.name}.{n - 1}{ext}")
                if older.exists():
                    os.replace(older, self.path.with_name(f"{self.path.name}.{n}{ext}"))
            first = self.path.with_name(f"{self.path.name}.1")
            os.replace(self.path, first)
            if self.compress:
                self._compressing = compress_in_child(first)
        self._fd = self._open()
        self.size = 0

    def _wait_compressed(self) -> None:
        if self._compressing:
            with contextlib.suppress(ChildProcessError):  # reaped already: done
                os.waitpid(self._compressing, 0)
            self._compressing = 0

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def compress_in_child(path: Path) -> int:
    """gzip `path` in a forked child; its pid (0 when it was done here, fork failing)."""
    try:
        pid = os.fork()
    except OSError:
        gzip_file(path)
        return 0
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            gzip_file(path)
        except BaseException:
            code = 1
        os._exit(code)
    return pid


def gzip_file(path: Path) -> None:
    """`path` -> `path.gz` (written aside, then renamed), and `path` removed."""
    target = path.with_name(path.name + ".gz")
    part = path.with_name(path.name + ".gz.part")
    with open(path, "rb") as source, gzip.open(part, "wb", compresslevel=1) as out:
        shutil.copyfileobj(source, out, 1 << 20)
    os.replace(part, target)
    os.unlink(path)
