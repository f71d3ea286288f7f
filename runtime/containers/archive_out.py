"""`GET /containers/{id}/archive` and `/export`: a path of the container as a tar, made inside its root.

Runs in the job the supervisor forks (supervisor/archive.py) after it has
chrooted into the container's root, so `/` is the container's `/` and no
path, symlink or `..` can lead out of it, whatever the container swaps in
meanwhile (CVE-2018-15664). The path is resolved as dockerd's
`ResolvePath` does: its parent with symlinks followed inside the root, its
last component taken as it is (a symlink is sent as a symlink; `docker cp
-L` asks for the stat's linkTarget instead). Entries are named from the
path's base name, as dockerd's rebase does.

User and group names are never looked up: that would load the container's
NSS libraries into this process (CVE-2019-14271).
"""

from __future__ import annotations

import os
import posixpath
import stat
import tarfile
from pathlib import Path
from typing import BinaryIO

from runtime.containers.archive import MergedView, stat_path

CHUNK = 64 * 1024


def _no_names() -> None:
    """No uid/gid to name lookups in tarfile (they would dlopen the container's libnss)."""
    tarfile.pwd = None  # type: ignore[attr-defined]
    tarfile.grp = None  # type: ignore[attr-defined]


def resolve(path: str) -> tuple[str, str]:
    """(the path to read inside the root, the name its entries take), as dockerd resolves a cp source."""
    absolute = posixpath.normpath("/" + path)
    trailing_dot = path.endswith("/.") or path == "."
    parts = [p for p in absolute.split("/") if p]
    view = MergedView(Path("/"), [])
    parent = view.resolve(parts[:-1])
    base = parts[-1] if parts else ""
    target = "/" + "/".join([*parent, base]) if base else "/"
    if trailing_dot or not base:
        return target, "."
    return target, base


def head(path: str) -> dict[str, object]:
    """The stat dockerd puts in X-Docker-Container-Path-Stat."""
    return stat_path(Path("/"), [], path)


def write_path(path: str, out: BinaryIO) -> None:
    """The tar of `path` (one entry, or a directory and everything under it) onto `out`."""
    _no_names()
    target, name = resolve(path)
    os.lstat(target)  # a missing path fails before anything is sent
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, target, name)


def write_root(out: BinaryIO) -> None:
    """`docker export`: every entry of the tree at `/`, named relative to it."""
    _no_names()
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for entry in sorted(os.listdir("/")):
            _add(tar, "/" + entry, entry)


def _add(tar: tarfile.TarFile, path: str, name: str) -> None:
    """`path` and, for a directory, what is under it; never following a symlink."""
    info = tar.gettarinfo(path, name)
    if info is None:  # a socket: dockerd skips them too
        return
    if info.isreg():
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return  # gone meanwhile, or not readable: as dockerd, go on
        with os.fdopen(fd, "rb") as f:
            now = os.fstat(f.fileno())
            if not stat.S_ISREG(now.st_mode):
                return
            info.size = now.st_size
            tar.addfile(info, _Exact(f, now.st_size))
        return
    tar.addfile(info)
    if info.isdir():
        try:
            names = sorted(os.listdir(path))
        except OSError:
            return
        for child in names:
            _add(tar, posixpath.join(path, child), posixpath.join(name, child))


class _Exact:
    """A file cut or padded to the size its header announced (it may change while it is read)."""

    def __init__(self, f: BinaryIO, size: int) -> None:
        self.f, self.left = f, size

    def read(self, n: int = CHUNK) -> bytes:
        if self.left <= 0:
            return b""
        data = self.f.read(min(n, self.left)) or b"\0" * min(n, self.left)
        self.left -= len(data)
        return data
