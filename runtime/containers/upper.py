"""A container's overlay upper dir read as dockerd reads its RW layer: `docker diff` and `docker commit`.

The upper dir is a host directory the container writes into, so it is
walked from directory fds, one component at a time with O_NOFOLLOW: a
symlink the container plants (or swaps in while we walk) is read as a
symlink, never followed onto the host. The mount points the engine makes
for the container (/etc/hosts, /etc/resolv.conf, ...; dockerd keeps them
in an init layer) are left out of both.

Changes as dockerd's overlay driver reports them (kind 0 modified, 1
added, 2 deleted): a whiteout is a deletion, an entry the image has is a
modification (a directory only when its owner or mode differ), anything
else an addition, and the parent of an addition or deletion is a
modification. The layer is the upper dir as a tar with overlay whiteouts
written as OCI ones (`.wh.<name>`, `.wh..wh..opq` in an opaque directory).
"""

from __future__ import annotations

import os
import posixpath
import stat
import tarfile
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from runtime.containers.archive import MergedView

MODIFIED, ADDED, DELETED = 0, 1, 2
OPAQUE_XATTR = "trusted.overlay.opaque"
KEPT_XATTRS = ("user.", "security.capability")  # what a layer carries (the extractor sets the same)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class Entry:
    path: str  # absolute, as the container sees it
    st: os.stat_result
    dir_fd: int  # the open directory holding it (valid while the walk is at this entry)
    name: str
    opaque: bool


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _opaque(fd: int, name: str) -> bool:
    try:
        sub = os.open(name, _DIR_FLAGS, dir_fd=fd)
    except OSError:
        return False
    try:
        return os.getxattr(sub, OPAQUE_XATTR) == b"y"
    except OSError:
        return False
    finally:
        os.close(sub)


def walk(upper: Path, skip: Collection[str] = ()) -> Iterator[Entry]:
    """Every entry of the upper dir, parents before children, in name order; `skip`'s paths left out."""
    try:
        fd = os.open(upper, _DIR_FLAGS)
    except FileNotFoundError:
        return  # never started: nothing written yet
    try:
        yield from _walk(fd, "/", frozenset(posixpath.normpath(p) for p in skip))
    finally:
        os.close(fd)


def _walk(fd: int, base: str, skip: frozenset[str]) -> Iterator[Entry]:
    for name in sorted(os.listdir(fd)):
        path = posixpath.join(base, name)
        if path in skip:
            continue
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        is_dir = stat.S_ISDIR(st.st_mode)
        yield Entry(path, st, fd, name, is_dir and _opaque(fd, name))
        if is_dir:
            try:
                sub = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError:
                continue  # swapped for something else meanwhile: nothing of it is followed
            try:
                yield from _walk(sub, path, skip)
            finally:
                os.close(sub)


def changes(upper: Path, lowers: Sequence[Path], skip: Collection[str] = ()) -> list[dict[str, object]]:
    """`GET /containers/{id}/changes`: [{"Path", "Kind"}] in dockerd's order."""
    below = MergedView(lowers[0], lowers[1:]) if lowers else None
    out: list[dict[str, object]] = []
    changed_dirs: set[str] = set()
    for entry in walk(upper, skip):
        parts = [p for p in entry.path.split("/") if p]
        if _is_whiteout(entry.st):
            kind = DELETED
        else:
            there = below.lookup(parts) if below is not None else None
            kind = ADDED if there is None else MODIFIED
            if there is not None and stat.S_ISDIR(entry.st.st_mode) and stat.S_ISDIR(there.st.st_mode):
                same = (entry.st.st_mode, entry.st.st_uid, entry.st.st_gid) == (
                    there.st.st_mode, there.st.st_uid, there.st.st_gid)
                if same and not entry.opaque:
                    continue  # only its children changed: they bring it in as their parent
        if stat.S_ISDIR(entry.st.st_mode):
            changed_dirs.add(entry.path)
        parent = posixpath.dirname(entry.path)
        if kind != MODIFIED and parent != "/" and parent not in changed_dirs:
            out.append({"Path": parent, "Kind": MODIFIED})
            changed_dirs.add(parent)
        out.append({"Path": entry.path, "Kind": kind})
    return out


def write_layer(upper: Path, out: BinaryIO, skip: Collection[str] = ()) -> int:
    """The upper dir as a layer tar (OCI whiteouts) onto `out`; the number of entries written."""
    count = 0
    links: dict[tuple[int, int], str] = {}
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for entry in walk(upper, skip):
            name = entry.path.lstrip("/")
            st = entry.st
            if _is_whiteout(st):
                tar.addfile(_info(posixpath.join(posixpath.dirname(name), ".wh." + entry.name), st, tarfile.REGTYPE))
                count += 1
                continue
            info = _node(entry, name, links)
            if info is None:
                continue
            if info.type in (tarfile.REGTYPE, tarfile.DIRTYPE):
                info.pax_headers.update(_xattrs(entry))
            if info.type == tarfile.REGTYPE:
                _add_file(tar, entry, info)
            else:
                tar.addfile(info)
            count += 1
            if entry.opaque:
                tar.addfile(_info(posixpath.join(name, ".wh..wh..opq"), st, tarfile.REGTYPE))
    return count


def _xattrs(entry: Entry) -> dict[str, str]:
    """The entry's kept xattrs as PAX headers (read from an fd opened without following anything)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        fd = os.open(entry.name, flags, dir_fd=entry.dir_fd)
    except OSError:
        return {}
    try:
        names = [n for n in os.listxattr(fd) if n.startswith(KEPT_XATTRS)]
        return {f"SCHILY.xattr.{n}": os.getxattr(fd, n).decode("utf-8", "surrogateescape") for n in names}
    except OSError:
        return {}
    finally:
        os.close(fd)


def _info(name: str, st: os.stat_result, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid, info.gid = st.st_uid, st.st_gid
    info.mtime = int(st.st_mtime)
    info.uname = info.gname = ""
    return info


def _node(entry: Entry, name: str, links: dict[tuple[int, int], str]) -> tarfile.TarInfo | None:
    st = entry.st
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        return _info(name, st, tarfile.DIRTYPE)
    if stat.S_ISREG(mode):
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in links:
            info = _info(name, st, tarfile.LNKTYPE)
            info.linkname = links[key]
            return info
        links[key] = name
        info = _info(name, st, tarfile.REGTYPE)
        info.size = st.st_size
        return info
    if stat.S_ISLNK(mode):
        info = _info(name, st, tarfile.SYMTYPE)
        info.linkname = os.readlink(entry.name, dir_fd=entry.dir_fd)
        return info
    kinds = ((stat.S_ISCHR, tarfile.CHRTYPE), (stat.S_ISBLK, tarfile.BLKTYPE), (stat.S_ISFIFO, tarfile.FIFOTYPE))
    for test, kind in kinds:
        if test(mode):
            info = _info(name, st, kind)
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
            return info
    return None  # a socket: dockerd leaves them out


def _add_file(tar: tarfile.TarFile, entry: Entry, info: tarfile.TarInfo) -> None:
    """A regular file's content, opened without following a symlink swapped in since its stat."""
    try:
        fd = os.open(entry.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=entry.dir_fd)
    except OSError:
        info.size = 0
        tar.addfile(info)
        return
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            info.size = 0
            tar.addfile(info)
            return
        tar.addfile(info, _Exact(f, info.size))


class _Exact:
    """Exactly `size` bytes of `f` (cut, or padded with zeros if it shrank meanwhile)."""

    def __init__(self, f: BinaryIO, size: int) -> None:
        self.f, self.left = f, size

    def read(self, n: int = 1 << 16) -> bytes:
        if self.left <= 0:
            return b""
        data = self.f.read(min(n, self.left)) or b"\0" * min(n, self.left)
        self.left -= len(data)
        return data
