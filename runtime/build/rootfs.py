"""An image's file system as the builder reads it: a file looked up through its layers
(WORKDIR's "does it exist", /etc/passwd for `--chown`), and the whole tree mounted read-only
for `COPY --from` (one layer: its snapshot dir as it is; more: an overlay of them).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from runtime.images.layers import is_opaque
from runtime.linux import symlinks

MAX_LOWER = 3900  # bytes of lowerdir= (overlay's options are limited to a page)


def lookup(layers: Sequence[Path], path: str) -> Path | None:
    """The host path of `path` in the topmost layer holding it (`layers` lowest first); None
    when absent, deleted by a whiteout above it, or under something that is not a directory (a
    symlink on the way is not followed, here or on the host: `resolve` first)."""
    parts = [p for p in path.split("/") if p and p != "."]
    for layer in reversed(layers):
        current = layer
        for depth, part in enumerate(parts):
            current = current / part
            try:
                st = os.lstat(current)  # its parents were lstat-ed as directories: nothing followed
            except FileNotFoundError:
                break
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                return None  # a whiteout
            if depth == len(parts) - 1:
                return current
            if not stat.S_ISDIR(st.st_mode):
                return None  # a file or a link here hides whatever lower layers hold below this path
            if is_opaque(current):  # nothing below this directory comes from lower layers
                return lookup([current], "/".join(parts[depth + 1 :]))
        else:
            return current
    return None


def resolve(layers: Sequence[Path], path: str, hops: int = symlinks.MAX_LINKS) -> str:
    """`path` (absolute) with the symlinks on it followed inside the root, as a copy into the
    root's file system would: every component, the last one too; `..` and absolute link targets
    stay inside the root; past `hops` links, a link is taken as it is. A trailing `/` is kept."""

    def link_at(parts: list[str], more: bool) -> str | None:
        found = lookup(layers, "/" + "/".join(parts))
        return os.readlink(found) if found is not None and found.is_symlink() else None

    trailing = path.endswith("/") and path != "/"
    out = "/" + "/".join(symlinks.follow(path.split("/"), link_at, hops, strict=False))
    return out + "/" if trailing and out != "/" else out


def is_dir(layers: Sequence[Path], path: str) -> bool:
    found = lookup(layers, resolve(layers, path))
    return found is not None and found.is_dir() and not found.is_symlink()


def read_file(layers: Sequence[Path], path: str) -> bytes | None:
    found = lookup(layers, resolve(layers, path))
    if found is None or not found.is_file() or found.is_symlink():
        return None
    return found.read_bytes()


@contextlib.contextmanager
def mounted(layers: Sequence[Path], work: Path) -> Iterator[Path]:
    """The image's merged tree, read-only, for as long as the block runs."""
    if not layers:
        empty = Path(tempfile.mkdtemp(prefix="scratch-", dir=work))
        yield empty
        return
    if len(layers) == 1:
        yield layers[0]
        return
    from runtime.linux import syscalls

    target = Path(tempfile.mkdtemp(prefix="rootfs-", dir=work))
    lower = ":".join(str(p) for p in reversed(layers))
    fds: list[int] = []
    try:
        if len(lower) > MAX_LOWER:  # the mount options fit a page: the layers as short fd paths instead
            fds = [os.open(p, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC) for p in reversed(layers)]
            lower = ":".join(f"/proc/self/fd/{fd}" for fd in fds)
        syscalls.mount("overlay", str(target), "overlay", os.MS_RDONLY if hasattr(os, "MS_RDONLY") else 1,
                       f"lowerdir={lower}")
    except BaseException:
        with contextlib.suppress(OSError):
            target.rmdir()
        raise
    finally:
        for fd in fds:
            os.close(fd)
    try:
        yield target
    finally:
        syscalls.umount2(str(target), 2)  # MNT_DETACH
        with contextlib.suppress(OSError):
            target.rmdir()
