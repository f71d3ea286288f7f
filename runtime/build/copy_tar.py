"""The tar a COPY/ADD applies at `/` of the step's root: Docker's destination rules, the
new owner (`--chown`), `--chmod` (octal or symbolic), parent directories made 0755, and
for ADD the local archives unpacked in place of the file.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from runtime.build.archives import add_members, is_archive
from runtime.build.modes import ModeError, parse_chmod
from runtime.build.selection import CopyError, Entry, Selection, Source


def resolve_dest(dest: str, workdir: str) -> str:
    """The destination as an absolute path: relative to WORKDIR, a trailing `/` (or `.`) kept as `/`."""
    as_dir = dest.endswith("/") or dest in (".", "") or dest.endswith("/.")
    path = posixpath.normpath(posixpath.join("/", workdir or "/", dest))
    return path if not as_dir or path == "/" else path + "/"


def check_dest(selection: Selection, dest: str, what: str = "COPY") -> None:
    """dockerd's refusal of several sources to a destination that does not end with `/`."""
    if len(selection.sources) > 1 and not dest.endswith("/"):
        raise CopyError(f"When using {what} with more than one source file, "
                        "the destination must be a directory and end with a /")


@dataclass(frozen=True)
class Op:
    """One member of the tar, in order: its header, and where its data comes from."""

    info: tarfile.TarInfo
    entry: Entry | None = None  # a file's source (its data), None for what carries none
    archive: Path | None = None  # ADD: a local archive extracted at `at`
    at: str = ""


def write_tar(selection: Selection, dest: str, out: BinaryIO, *, dest_is_dir: bool, uid: int | None = None,
              gid: int | None = None, chmod: str = "", mtime: float | None = None,
              exists: Callable[[str], bool] | None = None, unpack: bool = False, what: str = "COPY") -> None:
    """The tar that, extracted at `/`, performs the copy to the absolute `dest` (plan_tar, then emit_tar)."""
    ops = plan_tar(selection, dest, dest_is_dir=dest_is_dir, uid=uid, gid=gid, chmod=chmod, mtime=mtime,
                   exists=exists, unpack=unpack, what=what)
    emit_tar(ops, out)


def plan_tar(selection: Selection, dest: str, *, dest_is_dir: bool, uid: int | None = None,
             gid: int | None = None, chmod: str = "", mtime: float | None = None,
             exists: Callable[[str], bool] | None = None, unpack: bool = False, what: str = "COPY") -> list[Op]:
    """The members of the tar that performs the copy to the absolute `dest`, in order.

    `dest_is_dir`: `dest` is a directory in the step's root already. `uid`/`gid` None keep the
    files' ids. `exists(path)` (absolute), when given, tells which parent directories the root
    has: those it lacks are written 0755 with the new owner, as Docker creates them. `unpack`
    (ADD of local files): a source that is a tar archive is extracted into `dest` instead, its
    members keeping the archive's owners and modes (dockerd applies neither --chown nor --chmod)."""
    check_dest(selection, dest, what)
    try:
        mode_of = parse_chmod(chmod)
    except ModeError as exc:
        raise CopyError(str(exc)) from None
    base = posixpath.normpath("/" + dest.lstrip("/"))
    nested = any("/" in e.rel for s in selection.sources for e in s.entries)
    archives = {i for i, s in enumerate(selection.sources) if unpack and _unpackable(s)}
    as_dir = (dest.endswith("/") or dest_is_dir or base == "/" or not selection.single_file or nested
              or bool(archives))
    now = time.time() if mtime is None else mtime
    owner = (0 if uid is None else uid, 0 if gid is None else gid)
    written: set[str] = set()
    ops: list[Op] = []

    def parents_of(path: str) -> None:
        parent = posixpath.dirname(path)
        if parent == "/" or parent in written:
            return
        parents_of(parent)
        written.add(parent)
        if exists is not None and not exists(parent):
            ops.append(Op(_dir_info(parent, owner, now)))

    if as_dir and base != "/":
        parents_of(base + "/x")
    for index, source in enumerate(selection.sources):
        if index in archives:
            host = source.entries[0].host
            assert host is not None
            ops.append(Op(tarfile.TarInfo(base), archive=host, at=base))  # its owners kept, as dockerd's untar
            continue
        for entry in source.entries:
            target = posixpath.join(base, entry.rel) if as_dir else base
            parents_of(target)
            info = _info(entry, target, uid, gid, mtime)
            if mode_of is not None:
                info.mode = mode_of.apply(info.mode, entry.kind == "dir")
            written.add(target)
            ops.append(Op(info, entry if entry.kind == "file" else None))
    return ops


def emit_tar(ops: list[Op], out: BinaryIO, *, start: int = 0, offset: int = 0,
             boundary: Callable[[int, _Sink], None] | None = None, replay: Replay | None = None) -> None:
    """Write `ops[start:]` to `out` as a tar whose first `offset` bytes (ops[:start]) are already
    there; `boundary(n, sink)` is called after each member (or replayed run), n members written in
    all. `replay.run(index, position)` gives runs of members whose bytes are known already (a
    header holds no offset: a member's bytes are the same wherever it lies)."""
    sink = _Sink(out, offset)
    with tarfile.open(fileobj=sink, mode="w", format=tarfile.PAX_FORMAT, copybufsize=CHUNK) as tar:  # type: ignore[call-overload]
        index = start
        while index < len(ops):
            count, pieces = replay.run(index, sink.tell()) if replay is not None else (0, iter(()))
            if count:
                for piece in pieces:
                    sink.write(piece)
                    tar.offset += len(piece)
                index += count
            else:
                op = ops[index]
                if op.archive is not None:
                    add_members(tar, op.archive, op.at)
                elif op.entry is not None:
                    _add_file(tar, op.info, op.entry)
                else:
                    tar.addfile(op.info)
                index += 1
            if boundary is not None:
                boundary(index, sink)
    sink.flush()


class Replay(Protocol):
    def run(self, index: int, position: int) -> tuple[int, Iterator[bytes]]: ...

CHUNK = 1 << 20


class _Sink:
    """`out` as tarfile's plain mode writes it: a file's data in 1 MiB pieces, headers and padding
    gathered into 1 MiB writes (the stream mode "w|" wrote all of it 10 KiB a call), and the
    position it asks for. The bytes are those of the stream mode."""

    def __init__(self, out: BinaryIO, position: int = 0) -> None:
        self._out = out
        self._pos = position
        self._parts: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> int:
        n = len(data)
        self._pos += n
        if n >= CHUNK:
            self.flush()
            self._out.write(data)
            return n
        self._parts.append(bytes(data))
        self._size += n
        if self._size >= CHUNK:
            self.flush()
        return n

    def tell(self) -> int:
        return self._pos

    @property
    def buffered(self) -> int:
        return self._size

    def flush(self) -> None:
        if self._parts:
            self._out.write(b"".join(self._parts))
            self._parts, self._size = [], 0


def _unpackable(source: Source) -> bool:
    if source.is_dir or not source.unpack or len(source.entries) != 1:
        return False
    entry = source.entries[0]
    return entry.kind == "file" and entry.host is not None and is_archive(entry.host)


def _dir_info(path: str, owner: tuple[int, int], mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path.lstrip("/"))
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    info.uid, info.gid = owner
    info.mtime = int(mtime)
    return info


_TYPES = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "fifo": tarfile.FIFOTYPE}


def _info(entry: Entry, target: str, uid: int | None, gid: int | None, mtime: float | None) -> tarfile.TarInfo:
    info = tarfile.TarInfo(target.lstrip("/"))
    info.type = _TYPES[entry.kind]
    info.mode = entry.mode
    info.uid = entry.uid if uid is None else uid
    info.gid = entry.gid if gid is None else gid
    info.size = entry.size if entry.kind == "file" else 0
    info.mtime = int(entry.mtime if mtime is None else mtime)
    info.linkname = entry.linkname
    if entry.xattrs:
        info.pax_headers = {f"SCHILY.xattr.{k}": v.decode("utf-8", "surrogateescape") for k, v in entry.xattrs}
    return info


def _add_file(tar: tarfile.TarFile, info: tarfile.TarInfo, entry: Entry) -> None:
    if entry.data is not None:
        tar.addfile(info, io.BytesIO(entry.data))
        return
    assert entry.host is not None
    try:
        f = open(entry.host, "rb")  # noqa: SIM115 - closed below; only opening is the source's fault
    except OSError as exc:
        raise CopyError(f"failed to copy {entry.rel}: {exc.strerror or exc}") from None
    with f:
        tar.addfile(info, f)
