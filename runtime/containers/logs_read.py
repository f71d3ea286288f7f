"""Reading a container's json-file or local log for GET /containers/{id}/logs.

The file holds one JSON object a line, `{"log": "...", "stream": "stdout",
"time": "<RFC 3339 nano>"}`, as Docker's json-file driver writes it;
rotated files are `<path>.1` (newest) to `<path>.<max-file - 1>`, gzipped as `.N.gz` with
`compress`, read oldest first; the local driver's file holds protobuf frames instead
(`log_local.py`). Output is
Docker's multiplexed framing (8-byte header: stream, 0, 0, 0, big-endian
length) unless the container has a TTY, then the raw bytes.
"""

from __future__ import annotations

import datetime
import gzip
import json
import os
import re
import struct
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote_plus

import anyio

from runtime.containers import log_local

STREAMS = {"stdin": 0, "stdout": 1, "stderr": 2}
FOLLOW_POLL = 0.1
_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)")


@dataclass(frozen=True)
class Entry:
    stream: str
    data: bytes
    time_ns: int
    attrs: tuple[tuple[str, str], ...] = ()  # log-opt labels, env, tag (`docker logs --details`)


@dataclass(frozen=True)
class Selection:
    stdout: bool = True
    stderr: bool = True
    since_ns: int | None = None
    until_ns: int | None = None
    tail: int | None = None  # None: all
    timestamps: bool = False
    details: bool = False

    def wants(self, entry: Entry) -> bool:
        if entry.stream == "stdout" and not self.stdout:
            return False
        if entry.stream == "stderr" and not self.stderr:
            return False
        if self.since_ns is not None and entry.time_ns < self.since_ns:
            return False
        return self.until_ns is None or entry.time_ns <= self.until_ns


def parse_time_ns(text: str) -> int:
    """RFC 3339 with up to nine fraction digits -> ns since the epoch (0 when unreadable)."""
    m = _TIME.fullmatch(text.strip())
    if m is None:
        return 0
    base = datetime.datetime.fromisoformat(m.group(1) + ("+00:00" if m.group(3) == "Z" else m.group(3)))
    fraction = int(((m.group(2) or "") + "000000000")[:9])
    return int(base.timestamp()) * 10**9 + fraction


def format_time_ns(time_ns: int) -> str:
    """ns since the epoch -> RFC 3339 with nine fraction digits (Docker's log timestamps)."""
    seconds, fraction = divmod(time_ns, 10**9)
    stamp = datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{fraction:09d}Z"


def parse_line(line: bytes) -> Entry | None:
    try:
        item = json.loads(line)
        attrs = tuple(sorted((str(k), str(v)) for k, v in (item.get("attrs") or {}).items()))
        return Entry(str(item.get("stream", "stdout")), str(item.get("log", "")).encode(), parse_time_ns(item["time"]),
                     attrs)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # a torn last line, or garbage


def log_source(log_path: str, log_config: Mapping[str, Any] | None, bundle: str) -> Path | None:
    """The file a container's log is read from: json-file's LogPath, the local driver's file
    (dockerd does not show that one in LogPath), None for `none`."""
    if log_path:
        return Path(log_path)
    if (log_config or {}).get("Type") == "local":
        return log_local.local_path(bundle)
    return None


def log_files(path: Path) -> list[Path]:
    """The rotated files (plain or gzipped), oldest first, then the current one."""
    rotated = []
    n = 1
    while True:
        plain, packed = path.with_name(f"{path.name}.{n}"), path.with_name(f"{path.name}.{n}.gz")
        found = plain if plain.exists() else packed if packed.exists() else None  # .1 while gzip finishes
        if found is None:
            break
        rotated.append(found)
        n += 1
    return [*reversed(rotated), path]


def read_entries(path: Path) -> Iterator[Entry]:
    for file in log_files(path):
        yield from _entries_of(file)


def select(entries: Iterable[Entry], selection: Selection) -> list[Entry]:
    chosen = (e for e in entries if selection.wants(e))
    if selection.tail is None:
        return list(chosen)
    if selection.tail <= 0:
        return []
    return list(deque(chosen, maxlen=selection.tail))


def frame(stream: str, data: bytes) -> bytes:
    """Docker's multiplexed stream frame."""
    return struct.pack(">BxxxL", STREAMS.get(stream, 1), len(data)) + data


def render(entry: Entry, selection: Selection, tty: bool) -> bytes:
    data = entry.data
    if selection.details:  # dockerd: the attributes, url-encoded and sorted by key, then a space
        data = ",".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in entry.attrs).encode() + b" " + data
    if selection.timestamps:
        data = format_time_ns(entry.time_ns).encode() + b" " + data
    return data if tty else frame(entry.stream, data)


def parse_tail(text: str) -> int | None:
    text = text.strip()
    if text in ("", "all"):
        return None
    try:
        return int(text)
    except ValueError:
        return None  # Docker treats an unreadable tail as "all"


async def follow(
    path: Path, selection: Selection, tty: bool, run_end: Callable[[], tuple[bool, int | None]]
) -> AsyncIterator[bytes]:
    """The log so far (with tail), then new lines as they come, until the followed run ends or `until` passes.

    `run_end` says whether the run that was going on when following began has
    ended and, when another run began since, the time from which lines are
    that run's: like Docker's, a follow ends with its run, and `compose logs
    -f` asks again from the next start without seeing a line twice.
    """
    file = _open(path)
    try:
        split = _splitter(path)
        older = [e for f in log_files(path)[:-1] for e in _entries_of(f)]
        data = file.read() if file is not None else b""
        current, pending = split(data)
        for entry in select([*older, *current], selection):
            yield render(entry, selection, tty)
        while True:
            ended, cutoff_ns = run_end()
            st = _stat(path)
            if st is not None and (file is None or st.st_ino != os.fstat(file.fileno()).st_ino):
                # Rotated: finish the old file, then start on the new one.
                if file is not None:
                    entries, pending = split(pending + file.read())
                    for entry in entries:
                        if (out := _emit(entry, selection, tty, cutoff_ns)) is None:
                            return
                        yield out
                    file.close()
                file, pending = _open(path), b""
            if file is not None:
                entries, pending = split(pending + file.read())
                for entry in entries:
                    if (out := _emit(entry, selection, tty, cutoff_ns)) is None:
                        return
                    yield out
            if ended:
                return
            await anyio.sleep(FOLLOW_POLL)
    finally:
        if file is not None:
            file.close()


def _emit(entry: Entry, selection: Selection, tty: bool, cutoff_ns: int | None = None) -> bytes | None:
    """The bytes for a followed entry; b"" when filtered out, None once past `until` or the run's end."""
    if selection.until_ns is not None and entry.time_ns > selection.until_ns:
        return None
    if cutoff_ns is not None and entry.time_ns >= cutoff_ns:
        return None
    return render(entry, selection, tty) if selection.wants(entry) else b""


def _open(path: Path) -> BinaryIO | None:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        return None


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _split(data: bytes) -> tuple[list[Entry], bytes]:
    """Complete lines as entries, and the incomplete rest."""
    lines = data.split(b"\n")
    rest = lines.pop()
    return [e for line in lines if (e := parse_line(line)) is not None], rest


def _split_local(data: bytes) -> tuple[list[Entry], bytes]:
    entries, rest = log_local.split(data)
    return [Entry(e.source or "stdout", e.line if e.partial else e.line + b"\n", e.time_ns, tuple(sorted(e.attrs)))
            for e in entries], rest


def _splitter(path: Path) -> Callable[[bytes], tuple[list[Entry], bytes]]:
    local = path.name == log_local.LOCAL_NAME and path.parent.name == log_local.LOCAL_DIR
    return _split_local if local else _split


def _entries_of(file: Path) -> list[Entry]:
    packed = file.name.endswith(".gz")
    base = file.with_name(file.name[:-3]) if packed else file
    try:
        data = file.read_bytes()
        return _splitter(base.with_name(base.name.rsplit(".", 1)[0]) if base.name[-1:].isdigit()
                         else base)(gzip.decompress(data) if packed else data)[0]
    except (FileNotFoundError, OSError, EOFError):
        return []


def history(path: Path, selection: Selection, tty: bool) -> list[bytes]:
    """What `docker logs` without --follow prints."""
    return [render(e, selection, tty) for e in select(read_entries(path), selection)]
