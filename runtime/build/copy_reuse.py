"""A COPY layer made from the last one like it: the members its tar shares, from the start, with
the tar the same step wrote last time are not read, written or hashed again; the bytes up to
the last checkpoint before the first change are copied from that blob by the kernel, and its
sha256 goes on from the state kept there. After a changed member, the runs of members that are
the old tar's of the same places are copied from the old blob as a block (a tar header holds no
offset), not made again file by file. A one-line change in one of 2,000 files after a 50 MB one
writes that one member.

A member is the same when its header fields and its data's source are: the file's device,
inode, size, mtime and ctime, as they were once the last layer was made (linking a file into a
snapshot changes its ctime; a kept context is never written in place: a patch replaces files;
a stage's root is mounted afresh each time, so its files never match). The traces live in the
engine process (`Traces`, a few steps' worth); an engine restart starts from nothing.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from runtime.build.copy_tar import Op

CHECK_EVERY = 256 << 10  # bytes between checkpoints (each costs a flush and a hash state copy)
KEEP = 16  # traces kept


class _Blob(Protocol):
    @property
    def digest(self) -> str: ...

    def hash_state(self) -> hashlib._Hash: ...

    def adopt(self, source: int, length: int, state: hashlib._Hash) -> None: ...


class _Sink(Protocol):
    def tell(self) -> int: ...

    def flush(self) -> None: ...


@dataclass(frozen=True)
class Checkpoint:
    members: int  # written before it
    offset: int
    state: hashlib._Hash  # the blob's sha256 there


@dataclass(frozen=True)
class Trace:
    blob: str  # the digest of the blob it describes
    keys: tuple[Any, ...]  # per member
    checkpoints: tuple[Checkpoint, ...]
    ends: tuple[int, ...]  # per member: the offset past it


class Traces:
    """The last tar of each COPY step (its parent image and instruction), for the next one."""

    def __init__(self, keep: int = KEEP) -> None:
        self._keep = keep
        self._lock = threading.Lock()
        self._traces: OrderedDict[Any, Trace] = OrderedDict()

    def get(self, step: Any) -> Trace | None:
        with self._lock:
            return self._traces.get(step)

    def put(self, step: Any, trace: Trace) -> None:
        with self._lock:
            self._traces[step] = trace
            self._traces.move_to_end(step)
            while len(self._traces) > self._keep:
                self._traces.popitem(last=False)


def member_key(op: Op) -> Any:
    """What decides a member's bytes: its header's fields, and its data's source."""
    info = op.info
    if op.archive is not None:
        return None  # an archive's members: never compared
    source: Any = None
    if op.entry is not None:
        if op.entry.data is not None:
            source = hashlib.sha256(op.entry.data).digest()
        elif op.entry.host is not None:
            try:
                st = os.stat(op.entry.host)
            except OSError:
                return None
            source = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    return (info.name, info.type, info.mode, info.uid, info.gid, info.size, info.mtime, info.linkname,
            info.uname, info.gname, info.devmajor, info.devminor, tuple(sorted(info.pax_headers.items())), source)


class Recorder:
    """One COPY tar being written: where it starts (`start`), the runs of members it copies from the
    last blob (`run`), its checkpoints (`boundary`), its trace (`trace`). Close it (`close`)."""

    def __init__(self, ops: list[Op], previous: Trace | None, blob_path: Callable[[str], Path]) -> None:
        self.ops = ops
        self.keys = tuple(member_key(op) for op in ops)
        self.previous = previous
        self.checkpoints: list[Checkpoint] = []
        self.ends: list[int] = []  # where each member written so far ends
        self.writer: _Blob | None = None
        self._last = 0
        self._old = -1  # the last blob, open
        if previous is not None:
            try:
                self._old = os.open(blob_path(previous.blob), os.O_RDONLY | os.O_CLOEXEC)
            except (OSError, ValueError):
                self.previous = None  # removed meanwhile

    def close(self) -> None:
        if self._old >= 0:
            os.close(self._old)
            self._old = -1

    def start(self, writer: _Blob) -> tuple[int, int]:
        """(members, offset) already in `writer`: a previous blob's prefix adopted, or (0, 0)."""
        self.writer = writer
        chosen = self._resume_point()
        if chosen is None or self.previous is None:
            return 0, 0
        writer.adopt(self._old, chosen.offset, chosen.state)
        self.checkpoints = [c for c in self.previous.checkpoints if c.members <= chosen.members]
        self.ends = list(self.previous.ends[: chosen.members])
        self._last = chosen.offset
        return chosen.members, chosen.offset

    def _resume_point(self) -> Checkpoint | None:
        previous = self.previous
        if previous is None:
            return None
        same = 0
        for new, old in zip(self.keys, previous.keys, strict=False):
            if new is None or new != old:
                break
            same += 1
        usable = [c for c in previous.checkpoints if 0 < c.members <= same]
        return max(usable, key=lambda c: c.members, default=None)

    def run(self, index: int, position: int) -> tuple[int, Iterator[bytes]]:
        """How many members from `index` on are the last blob's members of the same places (the
        edit changed others before them), and their bytes, read from it; (0, nothing) if none."""
        previous = self.previous
        if previous is None:
            return 0, iter(())
        end = index
        limit = min(len(self.keys), len(previous.keys))
        while end < limit and self.keys[end] is not None and self.keys[end] == previous.keys[end]:
            end += 1
        if end == index:
            return 0, iter(())
        first = previous.ends[index - 1] if index else 0
        self.ends += [position + previous.ends[j] - first for j in range(index, end)]
        return end - index, self._read(first, previous.ends[end - 1])

    def _read(self, start: int, end: int) -> Iterator[bytes]:
        while start < end:
            piece = os.pread(self._old, min(1 << 20, end - start), start)
            if not piece:
                raise OSError(f"the last blob ends at {start} of {end} bytes")
            start += len(piece)
            yield piece

    def boundary(self, members: int, sink: _Sink) -> None:
        """After each member (or run of members): a checkpoint every CHECK_EVERY bytes, and after the last."""
        offset = sink.tell()
        if len(self.ends) < members:
            self.ends.append(offset)
        if offset - self._last < CHECK_EVERY and members != len(self.keys):
            return
        assert self.writer is not None
        sink.flush()
        self.checkpoints.append(Checkpoint(members, offset, self.writer.hash_state()))
        self._last = offset

    def trace(self) -> Trace:
        """What the next tar like this one can start from, once the blob is committed: its members'
        sources looked at again, as linking them into the layer's snapshot changed their ctime."""
        assert self.writer is not None
        keys = tuple(member_key(op) for op in self.ops)
        return Trace(self.writer.digest, keys, tuple(self.checkpoints), tuple(self.ends))
