"""Copying an image's content into a new volume, as Docker does on a volume's first use.

The source is either a plain directory or a path inside an image seen
through its layers (lowest first, in overlay form: a whiteout is a 0/0
character device, an opaque directory carries `trusted.overlay.opaque=y`),
merged in Python as overlayfs would merge them, so nothing is mounted.
The copy keeps owners, modes, times, symlinks, hard links, device nodes,
fifos and extended attributes (overlay's own excepted); the destination's
root takes the source directory's owner and mode.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from runtime.images.layers import is_opaque
from runtime.linux import symlinks

_CHUNK = 1 << 20


class Layers:
    """A stack of layer directories seen as one tree (overlay's lookup rules)."""

    def __init__(self, layers: Sequence[Path], overlay: bool = True) -> None:
        self.top_first = [os.fspath(p) for p in reversed(layers)]
        self.overlay = overlay

    def stack(self, parts: Sequence[str]) -> list[str]:
        """The paths that make up the merged entry at `parts` (top first): dirs to merge, or one non-dir."""
        current = self.top_first
        for i, part in enumerate(parts):
            found, dirs = merged_entry(current, part, self.overlay)
            if not found or (not dirs and i < len(parts) - 1):
                return []  # absent, or a non-directory where the path goes on
            current = found
        return list(current)

    def resolve(self, path: str) -> list[str] | None:
        """The components of `path` with every symlink followed inside the merged tree; None if it is absent."""

        def link_at(parts: list[str], more: bool) -> str | None:
            entry = self.stack(parts)
            if not entry:
                raise FileNotFoundError(path)
            st = os.lstat(entry[0])
            if stat.S_ISLNK(st.st_mode):
                return os.readlink(entry[0])
            if more and not stat.S_ISDIR(st.st_mode):
                raise NotADirectoryError(path)
            return None

        try:
            return symlinks.follow(path.split("/"), link_at)
        except symlinks.TooManyLinks:
            raise OSError(errno.ELOOP, f"too many symlinks resolving {path!r}") from None
        except (FileNotFoundError, NotADirectoryError):
            return None


def merged_entry(dirs: Sequence[str], name: str, overlay: bool) -> tuple[list[str], bool]:
    """`name` in the merged `dirs` (top first): (the directories to merge, True) or ([one non-directory], False).

    Overlay's rules: a whiteout hides what lies below, an opaque directory
    ends the merge, a non-directory above hides directories below it (and
    below a directory ends it). Nothing found: ([], True).
    """
    found: list[str] = []
    for base in dirs:
        path = os.path.join(base, name)
        st = _lstat(path)
        if st is None:
            continue
        if overlay and _whiteout(st):
            break
        if not stat.S_ISDIR(st.st_mode):
            if not found:
                return [path], False
            break
        found.append(path)
        if overlay and is_opaque(path):
            break
    return found, True


def copy_image_path(layers: Sequence[Path], path: str, dest: Path, overlay: bool = True) -> bool:
    """Copy what `path` holds in the merged `layers` into the empty directory `dest`; False if it is no directory."""
    view = Layers(layers, overlay)
    parts = view.resolve(path)
    if parts is None:
        return False
    stack = view.stack(parts)
    if not stack or not os.path.isdir(stack[0]) or os.path.islink(stack[0]):
        return False
    fd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _Copier(fd, overlay).merge_dir(stack, fd, "")
        _copy_meta(stack[0], fd, None, os.lstat(stack[0]))
    finally:
        os.close(fd)
    return True


def copy_directory(source: Path, dest: Path) -> bool:
    """Copy the content of a plain directory into the empty directory `dest` (no overlay rules)."""
    return copy_image_path([source], "/", dest, overlay=False)


class _Copier:
    def __init__(self, root_fd: int, overlay: bool) -> None:
        self.root_fd = root_fd
        self.overlay = overlay
        self.links: dict[tuple[int, int], str] = {}  # (dev, ino) -> the first copy, relative to the root

    def merge_dir(self, stack: Sequence[str], dest_fd: int, rel: str) -> None:
        names: dict[str, None] = {}
        for layer in stack:
            for entry in sorted(os.listdir(layer)):
                names.setdefault(entry)
        for name in names:
            entries, _ = merged_entry(stack, name, self.overlay)
            if entries:
                self._copy(entries, name, dest_fd, f"{rel}/{name}" if rel else name)

    def _copy(self, entries: list[str], name: str, dir_fd: int, rel: str) -> None:
        source = entries[0]
        st = os.lstat(source)
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            os.mkdir(name, 0o700, dir_fd=dir_fd)
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
            try:
                self.merge_dir(entries, fd, rel)
                _copy_meta(source, fd, None, st)
            finally:
                os.close(fd)
            return
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in self.links:
            os.link(self.links[key], name, src_dir_fd=self.root_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
            return
        if stat.S_ISLNK(mode):
            os.symlink(os.readlink(source), name, dir_fd=dir_fd)
        elif stat.S_ISREG(mode):
            _copy_file(source, name, dir_fd)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
            os.mknod(name, stat.S_IFMT(mode) | 0o600, st.st_rdev, dir_fd=dir_fd)
        else:
            return  # sockets are not content
        _copy_meta(source, dir_fd, name, st)
        if st.st_nlink > 1:
            self.links[key] = rel


def _copy_file(source: str, name: str, dir_fd: int) -> None:
    src = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        dst = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                      dir_fd=dir_fd)
        try:
            while os.sendfile(dst, src, None, _CHUNK) > 0:
                pass
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _copy_meta(source: str, dir_fd: int, name: str | None, st: os.stat_result) -> None:
    """Owner, then mode (a chown clears set-id bits), xattrs and times; `name` None means `dir_fd` itself."""
    times = (st.st_atime_ns, st.st_mtime_ns)
    if name is None:
        os.fchown(dir_fd, st.st_uid, st.st_gid)
        os.fchmod(dir_fd, stat.S_IMODE(st.st_mode))
        _copy_xattrs(source, dir_fd)
        os.utime(dir_fd, ns=times)
        return
    os.chown(name, st.st_uid, st.st_gid, dir_fd=dir_fd, follow_symlinks=False)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(name, stat.S_IMODE(st.st_mode), dir_fd=dir_fd)
        _copy_xattrs(source, f"/proc/self/fd/{dir_fd}/{name}")
    os.utime(name, ns=times, dir_fd=dir_fd, follow_symlinks=False)


def _copy_xattrs(source: str, target: int | str) -> None:
    try:
        keys = os.listxattr(source, follow_symlinks=False)
    except OSError:
        return
    for key in keys:
        if key.startswith("trusted.overlay."):
            continue
        try:
            os.setxattr(target, key, os.getxattr(source, key, follow_symlinks=False))
        except OSError:
            continue  # e.g. security.* the target filesystem refuses: the content matters more


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def is_empty(path: Path) -> bool:
    with os.scandir(path) as entries:
        return next(entries, None) is None
