"""`PUT /containers/{id}/archive`: a tar extracted into a container's file system (and
`HEAD`, the stat `docker cp` asks for first).

The extraction over a merged view of directory trees, highest first: the
destination and every parent of an entry are resolved the way the
container sees them (symlinks followed inside the root, whiteouts and
opaque directories honoured), and a parent that exists only in a lower tree
is created in the top one with that tree's owner, mode and times, so `/tmp`
keeps its 1777. Entries are written with the image layer extractor's
guarantees (one component at a time, never through a symlink, `..` and
device nodes refused).

The engine runs it through a job the supervisor forks (copy_in.py,
supervisor/archive.py, archive_job.py) on a single tree: the container's
root as its mount namespace shows it (live), or its overlay and volume and
bind mounts mounted for the job (no process), so volumes and binds are
followed as in the container. Given an overlay's upper dir and image layers
it works on those without mounting anything.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from runtime.errors import EngineError, bad_request, not_found
from runtime.images.errors import LayerError
from runtime.images.layers import OPAQUE_XATTR, ApplyResult, _Extractor, split_name
from runtime.linux import symlinks

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
MAX_SYMLINKS = symlinks.MAX_LINKS
_HOST_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.ENOMEM})


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


@dataclass(frozen=True)
class Found:
    layer: int  # 0 the upper dir, then the image layers, highest first
    st: os.stat_result


class MergedView:
    """What the container sees at a path, from its upper dir and image layers (highest first)."""

    def __init__(self, upper: Path, lowers: Sequence[Path]) -> None:
        self.layers = [upper, *lowers]

    def _open(self, layer: int, parts: Sequence[str]) -> int | None:
        """An fd on `parts` inside one layer, walked without following symlinks; None if it is not a dir."""
        fd = os.open(self.layers[layer], _DIR_FLAGS)
        try:
            for comp in parts:
                nfd = os.open(comp, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = nfd
        except OSError:
            os.close(fd)
            return None
        return fd

    def lookup(self, parts: Sequence[str]) -> Found | None:
        """The topmost entry at `parts`, or None when nothing is there (deleted, or never made)."""
        if not parts:
            return Found(0, os.stat(self.layers[0]))
        for layer in range(len(self.layers)):
            found, hides = self._in_layer(layer, parts)
            if found is not None or hides:
                return found
        return None

    def _in_layer(self, layer: int, parts: Sequence[str]) -> tuple[Found | None, bool]:
        """(the entry in this layer, whether this layer hides the layers below at `parts`)."""
        fd = os.open(self.layers[layer], _DIR_FLAGS)
        opaque = False  # an opaque directory on the way: lower layers add nothing below it
        try:
            for comp in parts[:-1]:
                try:
                    st = os.stat(comp, dir_fd=fd, follow_symlinks=False)
                except FileNotFoundError:
                    return None, opaque
                if not stat.S_ISDIR(st.st_mode):
                    return None, True  # a whiteout or a non-directory hides what is below
                nfd = os.open(comp, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = nfd
                opaque = opaque or _opaque(fd)
            try:
                st = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                return None, opaque
            return (None if _is_whiteout(st) else Found(layer, st)), True
        finally:
            os.close(fd)

    def resolve(self, parts: Sequence[str]) -> list[str]:
        """`parts` with every symlink replaced by its target, inside the container's root."""

        def link_at(at: list[str], more: bool) -> str | None:
            found = self.lookup(at)
            return self._readlink(found.layer, at) if found is not None and stat.S_ISLNK(found.st.st_mode) else None

        try:
            return symlinks.follow(parts, link_at, MAX_SYMLINKS)
        except symlinks.TooManyLinks as exc:
            raise bad_request(f"too many levels of symbolic links at {exc.at}") from None

    def _readlink(self, layer: int, parts: Sequence[str]) -> str:
        fd = self._open(layer, parts[:-1])
        if fd is None:
            return ""
        try:
            return os.readlink(parts[-1], dir_fd=fd)
        finally:
            os.close(fd)

    def upper_dir(self, parts: Sequence[str], create: bool) -> int:
        """An fd on directory `parts` (already resolved) in the upper dir, made like the image has it."""
        fd = os.open(self.layers[0], _DIR_FLAGS)
        try:
            for depth, comp in enumerate(parts):
                nfd = self._step(fd, parts[: depth + 1], comp, create)
                os.close(fd)
                fd = nfd
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _step(self, fd: int, parts: Sequence[str], comp: str, create: bool) -> int:
        name = "/" + "/".join(parts)
        try:
            st = os.stat(comp, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            st = None
        opaque = False
        if st is not None and _is_whiteout(st):
            if not create:
                raise FileNotFoundError(errno.ENOENT, "no such directory", name)
            os.unlink(comp, dir_fd=fd)  # the container deleted it: a new, empty directory replaces it
            st, opaque = None, True
        if st is None:
            if not create:
                raise FileNotFoundError(errno.ENOENT, "no such directory", name)
            below = None if opaque else self.lookup(parts)
            os.mkdir(comp, 0o700, dir_fd=fd)
            nfd = os.open(comp, _DIR_FLAGS, dir_fd=fd)
            if opaque:
                os.setxattr(nfd, OPAQUE_XATTR, b"y")
            if below is not None and stat.S_ISDIR(below.st.st_mode):
                os.fchown(nfd, below.st.st_uid, below.st.st_gid)
                os.fchmod(nfd, stat.S_IMODE(below.st.st_mode))
                os.utime(nfd, ns=(below.st.st_atime_ns, below.st.st_mtime_ns))
            else:
                os.fchmod(nfd, 0o755)  # a new parent, as Docker makes them
            return nfd
        try:
            return os.open(comp, _DIR_FLAGS, dir_fd=fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise LayerError(f"{name} is not a directory") from None
            raise


def _opaque(fd: int) -> bool:
    try:
        return os.getxattr(fd, OPAQUE_XATTR) == b"y"
    except OSError:
        return False


class _Into(_Extractor):
    """The layer extractor, with parents resolved through the container's merged view."""

    def __init__(self, view: MergedView, base: list[str], no_overwrite_dir_non_dir: bool,
                 owner: tuple[int, int] | None) -> None:
        super().__init__(view.layers[0], "archive")
        self.view = view
        self.base = base
        self.strict = no_overwrite_dir_non_dir
        self.owner = owner

    def _dir(self, parts: Sequence[str], create: bool, name: str) -> int:
        return self.view.upper_dir(self.view.resolve([*self.base, *parts]), create)

    def entry(self, member: tarfile.TarInfo, tar: tarfile.TarFile) -> None:
        member.name = member.name.lstrip("/")  # Docker puts absolute names under the path too
        parts = split_name(member.name, self.what)
        if not parts:
            return  # the destination itself keeps its owner and mode, as in Docker
        if self.owner is not None:  # copyUIDGID: everything belongs to the container's user
            member.uid, member.gid = self.owner
        if self.strict:
            parent = self.view.resolve([*self.base, *parts[:-1]])
            there = self.view.lookup([*parent, parts[-1]])
            if there is not None and stat.S_ISDIR(there.st.st_mode) != member.isdir():
                what = "directory" if member.isdir() else "non-directory"
                raise LayerError(f"cannot overwrite {'non-' if member.isdir() else ''}directory "
                                 f"/{'/'.join([*parent, parts[-1]])} with {what} {member.name}")
        super().entry(member, tar)


# Go's os.FileMode type bits, which Docker's path stat reports.
_GO_TYPE = ((stat.S_ISDIR, 1 << 31), (stat.S_ISLNK, 1 << 27), (stat.S_ISFIFO, 1 << 25), (stat.S_ISSOCK, 1 << 24),
            (stat.S_ISBLK, 1 << 26), (stat.S_ISCHR, (1 << 26) | (1 << 21)))
_GO_SPECIAL = ((stat.S_ISUID, 1 << 23), (stat.S_ISGID, 1 << 22), (stat.S_ISVTX, 1 << 20))


def stat_path(upper: Path, lowers: Sequence[Path], path: str) -> dict[str, object]:
    """Docker's container path stat: name, size, Go file mode, mtime, and the link target of a symlink."""
    view = MergedView(upper, lowers)
    parts = posixpath.normpath("/" + path).split("/")
    parent = view.resolve(parts[:-1])
    name = [p for p in parts if p][-1:]
    found = view.lookup([*parent, *name])
    if found is None:
        raise not_found(f"Could not find the file {path} in container")
    st = found.st
    mode = stat.S_IMODE(st.st_mode) & 0o777
    mode |= sum(bit for test, bit in _GO_TYPE if test(st.st_mode))
    mode |= sum(bit for flag, bit in _GO_SPECIAL if st.st_mode & flag)
    link = ""
    if stat.S_ISLNK(st.st_mode):
        link = "/" + "/".join(view.resolve([*parent, *name]))
    mtime = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(st.st_mtime)) + f".{st.st_mtime_ns % 10**9:09d}Z"
    return {"name": name[0] if name else "/", "size": st.st_size, "mode": mode, "mtime": mtime, "linkTarget": link}


def put_archive(upper: Path, lowers: Sequence[Path], path: str, stream: BinaryIO,
                no_overwrite_dir_non_dir: bool = False, owner: tuple[int, int] | None = None) -> ApplyResult:
    """Extract the tar (plain or compressed) read from `stream` under the container path `path`.

    With `owner` (uid, gid) every entry is owned by it, else by the tar's ids. Given the root of a
    live container's file system (as its mount namespace shows it) and no lowers, it extracts there.
    """
    view = MergedView(upper, lowers)
    base = view.resolve(posixpath.normpath("/" + path).split("/"))
    found = view.lookup(base)
    if found is None:
        raise not_found(f"Could not find the file {path} in container")
    if not stat.S_ISDIR(found.st.st_mode):
        raise bad_request("extraction point is not a directory")
    into = _Into(view, base, no_overwrite_dir_non_dir, owner)
    current = ""
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            for member in tar:
                current = member.name
                into.entry(member, tar)
        into.finish()
    except LayerError as exc:
        raise bad_request(str(exc)) from None
    except tarfile.TarError as exc:
        raise bad_request(f"invalid tar archive: {exc}") from None
    except OSError as exc:
        if exc.errno in _HOST_ERRORS:
            raise
        where = f" at {current!r}" if current else ""
        raise EngineError(500, f"cannot extract{where}: {exc.strerror or exc}") from None
    finally:
        into.close()
    return into.result
