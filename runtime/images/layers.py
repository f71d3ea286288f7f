"""Safe layer apply: a layer tar becomes one overlay lower directory.

Every path is resolved from the snapshot root one component at a time with O_NOFOLLOW,
so nothing a layer contains (absolute names, `..`, a symlink it planted earlier, a hardlink
naming a path outside) can make us write outside `dest`. Unsafe names are refused with a
LayerError; device nodes are neutralised (skipped and reported), since a container's /dev
is ours to make. OCI whiteouts become overlay whiteouts: `.wh.x` a 0/0 character device
named `x`, `.wh..wh..opq` the `trusted.overlay.opaque=y` xattr on its directory.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tarfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, BinaryIO

from runtime.images.errors import LayerError

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
CHUNK = 1 << 20
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# Namespaces a layer may set; trusted.* (overlay's own) and others stay ours.
_XATTR_ALLOWED = ("user.", "security.capability")
_HOST_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.ENOMEM})


def is_opaque(path: str | os.PathLike[str]) -> bool:
    """Whether the directory at `path` (not followed) is an overlay opaque one: nothing below comes
    from the layers under it."""
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


@dataclass
class ApplyResult:
    size: int = 0  # bytes of regular-file content written
    skipped: list[str] = field(default_factory=list)  # entries neutralised, with why


def split_name(name: str, what: str) -> list[str]:
    """Archive member name -> path components; refuses absolute names and `..`."""
    if name.startswith("/"):
        raise LayerError(f"{what}: refusing absolute path {name!r}")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise LayerError(f"{what}: refusing path with '..' {name!r}")
    return parts


@dataclass
class _DirMeta:
    uid: int
    gid: int
    mode: int
    mtime_ns: int
    xattrs: dict[str, bytes]


# For a regular file entry: an open fd of an identical file to hard-link instead of writing the
# data (a build context unpacked again beside the previous one), or None.
@dataclass(frozen=True)
class Offer:
    """A file offered for an entry: `known` when the caller wrote the entry from this very file, whose
    bytes cannot have changed since (the builder's COPY from a kept context); else its bytes are compared."""

    fd: int
    known: bool = False


Reuse = Callable[[tarfile.TarInfo], "int | Offer | None"]


class _Extractor:
    def __init__(self, dest: Path, what: str, reuse: Reuse | None = None) -> None:
        self.what = what
        self.reuse = reuse
        self.root_fd = os.open(dest, _DIR_FLAGS)
        self.result = ApplyResult()
        self.dirs: dict[tuple[str, ...], _DirMeta] = {}
        self._cache: tuple[tuple[str, ...], int] | None = None

    def close(self) -> None:
        self._invalidate()
        os.close(self.root_fd)

    def _invalidate(self) -> None:
        if self._cache is not None:
            os.close(self._cache[1])
            self._cache = None

    def _dir(self, parts: Sequence[str], create: bool, name: str) -> int:
        """A new fd for directory `parts` under the root, never reached through a symlink."""
        key = tuple(parts)
        if self._cache is not None and self._cache[0] == key:
            return os.dup(self._cache[1])
        fd = os.dup(self.root_fd)
        try:
            for comp in parts:
                try:
                    nfd = os.open(comp, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    os.mkdir(comp, 0o755, dir_fd=fd)
                    nfd = os.open(comp, _DIR_FLAGS, dir_fd=fd)
                    os.fchmod(nfd, 0o755)  # whatever our umask: implicit parents are 0755, as in Docker
                except OSError as exc:
                    if exc.errno == errno.ELOOP:
                        raise LayerError(f"{self.what}: refusing {name!r}: path goes through a symlink") from None
                    if exc.errno == errno.ENOTDIR:
                        raise LayerError(f"{self.what}: refusing {name!r}: a parent is not a directory") from None
                    raise
                os.close(fd)
                fd = nfd
        except BaseException:
            os.close(fd)
            raise
        self._invalidate()
        self._cache = (key, os.dup(fd))
        return fd

    def _clear(self, pfd: int, leaf: str, keep_dir: bool = False) -> bool:
        """Remove what is at `leaf` (tar order: a later entry replaces an earlier one).

        Returns True when a directory was there and kept."""
        try:
            st = os.stat(leaf, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(st.st_mode):
            if keep_dir:
                return True
            self._invalidate()
            shutil.rmtree(leaf, dir_fd=pfd)
        else:
            os.unlink(leaf, dir_fd=pfd)
        return False

    def entry(self, member: tarfile.TarInfo, tar: tarfile.TarFile) -> None:
        parts = split_name(member.name, self.what)
        if not parts:
            self.dirs[()] = self._meta(member)
            return
        leaf = parts[-1]
        if leaf.startswith(WHITEOUT):
            self._whiteout(parts, member)
            return
        pfd = self._dir(parts[:-1], create=True, name=member.name)
        try:
            self._create(pfd, parts, leaf, member, tar)
        finally:
            os.close(pfd)

    def _whiteout(self, parts: list[str], member: tarfile.TarInfo) -> None:
        leaf = parts[-1]
        if leaf == OPAQUE:
            fd = self._dir(parts[:-1], create=True, name=member.name)
            try:
                os.setxattr(fd, OPAQUE_XATTR, b"y")
            finally:
                os.close(fd)
            return
        if leaf.startswith(WHITEOUT + WHITEOUT):
            return  # other aufs metadata (.wh..wh.plnk, ...) has no overlay meaning
        target = leaf[len(WHITEOUT) :]
        if target in ("", ".", ".."):
            raise LayerError(f"{self.what}: invalid whiteout {member.name!r}")
        pfd = self._dir(parts[:-1], create=True, name=member.name)
        try:
            self._clear(pfd, target)
            os.mknod(target, stat.S_IFCHR, os.makedev(0, 0), dir_fd=pfd)
            os.chown(target, member.uid, member.gid, dir_fd=pfd, follow_symlinks=False)
        finally:
            os.close(pfd)

    def _create(self, pfd: int, parts: list[str], leaf: str, member: tarfile.TarInfo, tar: tarfile.TarFile) -> None:
        if member.isdir():
            if not self._clear(pfd, leaf, keep_dir=True):
                os.mkdir(leaf, 0o700, dir_fd=pfd)
            self.dirs[tuple(parts)] = self._meta(member)
        elif member.isreg():
            self._clear(pfd, leaf)
            if not self._link_same(pfd, leaf, member, tar):
                self._write_file(pfd, leaf, member, tar)
        elif member.issym():
            self._clear(pfd, leaf)
            os.symlink(member.linkname, leaf, dir_fd=pfd)
            os.chown(leaf, member.uid, member.gid, dir_fd=pfd, follow_symlinks=False)
            self._set_xattrs(leaf, pfd, member)
            os.utime(leaf, ns=(self._mtime(member),) * 2, dir_fd=pfd, follow_symlinks=False)
        elif member.islnk():
            self._hardlink(pfd, leaf, member)
        elif member.isfifo():
            self._clear(pfd, leaf)
            os.mkfifo(leaf, 0o600, dir_fd=pfd)
            self._finish_node(pfd, leaf, member)
        elif member.ischr() and member.devmajor == 0 and member.devminor == 0:
            # Already an overlay whiteout (a layer made from an overlay upper dir).
            self._clear(pfd, leaf)
            os.mknod(leaf, stat.S_IFCHR, os.makedev(0, 0), dir_fd=pfd)
            self._finish_node(pfd, leaf, member)
        elif member.ischr() or member.isblk():
            kind = "character" if member.ischr() else "block"
            self.result.skipped.append(
                f"{member.name}: {kind} device {member.devmajor}:{member.devminor} not created"
            )
        else:
            self.result.skipped.append(f"{member.name}: unsupported tar entry type {member.type!r}")

    def _link_same(self, pfd: int, leaf: str, member: tarfile.TarInfo, tar: tarfile.TarFile) -> bool:
        """Hard-link the file `reuse` offers when its bytes are the entry's; otherwise write the entry.

        The offer rests on metadata (size, mode, owner, mtime), which a client can give two different
        files alike (generated entries, reproducible builds with mtime 0): the content decides.
        """
        offered = self.reuse(member) if self.reuse is not None else None
        if offered is None:
            return False
        same, known = (offered.fd, offered.known) if isinstance(offered, Offer) else (offered, False)
        try:
            src = tar.extractfile(member)
            matched = 0
            while not known and src is not None and (chunk := src.read(CHUNK)):
                if os.pread(same, len(chunk), matched) != chunk:
                    self._write_rest(pfd, leaf, member, src, same, matched, chunk)
                    return True
                matched += len(chunk)
            try:
                os.link(f"/proc/self/fd/{same}", leaf, dst_dir_fd=pfd, follow_symlinks=True)
            except OSError:  # another device: a copy of what matched, and of what was not read
                self._write_rest(pfd, leaf, member, src if known else None, same, matched, b"")
                return True
        finally:
            os.close(same)
        self.result.size += member.size
        return True

    def _write_rest(self, pfd: int, leaf: str, member: tarfile.TarInfo, src: IO[bytes] | None, same: int,
                    matched: int, chunk: bytes) -> None:
        """The entry as a new file: the `matched` bytes it shares with `same`, then `chunk` and the rest of `src`."""
        def parts() -> Iterator[bytes]:
            offset = 0
            while offset < matched:
                piece = os.pread(same, min(CHUNK, matched - offset), offset)
                if not piece:
                    raise LayerError(f"{self.what}: {member.name}: the file to reuse shrank")
                offset += len(piece)
                yield piece
            yield chunk
            while src is not None and (more := src.read(CHUNK)):
                yield more

        self._write_chunks(pfd, leaf, member, parts())

    def _write_file(self, pfd: int, leaf: str, member: tarfile.TarInfo, tar: tarfile.TarFile) -> None:
        src = tar.extractfile(member)
        self._write_chunks(pfd, leaf, member, iter(lambda: src.read(CHUNK), b"") if src is not None else iter(()))

    def _write_chunks(self, pfd: int, leaf: str, member: tarfile.TarInfo, chunks: Iterator[bytes]) -> None:
        fd = os.open(leaf, _FILE_FLAGS, 0o600, dir_fd=pfd)
        with os.fdopen(fd, "wb", buffering=0) as out:
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    view = view[out.write(view) or 0 :]
            os.fchown(fd, member.uid, member.gid)
            os.fchmod(fd, member.mode & 0o7777)  # after chown, which clears set-id bits
            self._set_xattrs(fd, None, member)
            os.utime(fd, ns=(self._mtime(member),) * 2)
        self.result.size += member.size

    def _hardlink(self, pfd: int, leaf: str, member: tarfile.TarInfo) -> None:
        tparts = split_name(member.linkname, f"{self.what}: hardlink {member.name!r}")
        if not tparts:
            raise LayerError(f"{self.what}: hardlink {member.name!r} has no target")
        try:
            tfd = self._dir(tparts[:-1], create=False, name=member.linkname)
        except FileNotFoundError:
            raise LayerError(
                f"{self.what}: hardlink {member.name!r} -> {member.linkname!r}: target is not in this layer"
            ) from None
        try:
            try:
                tst = os.stat(tparts[-1], dir_fd=tfd, follow_symlinks=False)
            except FileNotFoundError:
                raise LayerError(
                    f"{self.what}: hardlink {member.name!r} -> {member.linkname!r}: target is not in this layer"
                ) from None
            if stat.S_ISDIR(tst.st_mode):
                raise LayerError(f"{self.what}: hardlink {member.name!r} -> {member.linkname!r}: target is a directory")
            try:
                lst = os.stat(leaf, dir_fd=pfd, follow_symlinks=False)
                if (lst.st_dev, lst.st_ino) == (tst.st_dev, tst.st_ino):
                    return
            except FileNotFoundError:
                pass
            self._clear(pfd, leaf)
            os.link(tparts[-1], leaf, src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)
        finally:
            os.close(tfd)

    def _finish_node(self, pfd: int, leaf: str, member: tarfile.TarInfo) -> None:
        os.chown(leaf, member.uid, member.gid, dir_fd=pfd, follow_symlinks=False)
        os.chmod(leaf, member.mode & 0o7777, dir_fd=pfd)
        os.utime(leaf, ns=(self._mtime(member),) * 2, dir_fd=pfd, follow_symlinks=False)

    @staticmethod
    def _mtime(member: tarfile.TarInfo) -> int:
        return int(member.mtime * 1_000_000_000)

    def _meta(self, member: tarfile.TarInfo) -> _DirMeta:
        return _DirMeta(member.uid, member.gid, member.mode & 0o7777, self._mtime(member), _xattrs(member))

    def _set_xattrs(self, target: int | str, pfd: int | None, member: tarfile.TarInfo) -> None:
        for key, value in _xattrs(member).items():
            try:
                if pfd is None:
                    os.setxattr(target, key, value)
                else:  # no *at() form for xattrs: go through the (already safe) parent fd
                    os.setxattr(f"/proc/self/fd/{pfd}/{target}", key, value, follow_symlinks=False)
            except OSError:
                self.result.skipped.append(f"{member.name}: xattr {key} not set")

    def finish(self) -> None:
        """Directory metadata last: creating children would change the times set earlier."""
        for parts, meta in self.dirs.items():
            try:
                fd = self._dir(parts, create=False, name="/".join(parts))
            except (FileNotFoundError, LayerError):
                continue  # replaced later in the layer by a non-directory
            try:
                os.fchown(fd, meta.uid, meta.gid)
                os.fchmod(fd, meta.mode)
                for key, value in meta.xattrs.items():
                    try:
                        os.setxattr(fd, key, value)
                    except OSError:
                        self.result.skipped.append(f"{'/'.join(parts)}: xattr {key} not set")
                os.utime(fd, ns=(meta.mtime_ns, meta.mtime_ns))
            finally:
                os.close(fd)


def _xattrs(member: tarfile.TarInfo) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for key, value in member.pax_headers.items():
        if key.startswith("SCHILY.xattr."):
            name = key[len("SCHILY.xattr.") :]
            if name.startswith(_XATTR_ALLOWED):
                out[name] = value.encode("utf-8", "surrogateescape")
    return out


def apply_layer(stream: BinaryIO, dest: Path, what: str = "layer", *, reuse: Reuse | None = None,
                seen: Callable[[tarfile.TarInfo], None] | None = None) -> ApplyResult:
    """Extract an uncompressed layer tar from `stream` into the empty directory `dest`; `seen` is
    shown each member before it is extracted."""
    ex = _Extractor(dest, what, reuse)
    current = ""
    try:
        try:
            tar = tarfile.open(fileobj=stream, mode="r|")  # noqa: SIM115 - closed by the with below
        except tarfile.ReadError as exc:
            if "empty file" in str(exc):
                return ex.result  # a zero-byte layer holds nothing
            raise
        with tar:
            for member in tar:
                current = member.name
                if seen is not None:
                    seen(member)
                ex.entry(member, tar)
        current = ""
        ex.finish()
    except tarfile.TarError as exc:
        raise LayerError(f"{what}: invalid tar archive: {exc}") from None
    except OSError as exc:
        if exc.errno in _HOST_ERRORS:
            raise  # our disk, not the layer, is at fault: not a 400
        where = f" at {current!r}" if current else ""
        raise LayerError(f"{what}: cannot extract{where}: {exc.strerror or exc}") from None
    finally:
        ex.close()
    return ex.result
