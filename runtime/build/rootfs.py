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

from runtime.images.layers import OPAQUE_XATTR

MAX_LOWER = 3900  # bytes of lowerdir= (overlay's options are limited to a page)


def lookup(layers: Sequence[Path], path: str) -> Path | None:
    """The host path of `path` in the topmost layer holding it (`layers` lowest first); None
    when absent or deleted by a whiteout above it."""
    parts = [p for p in path.split("/") if p and p != "."]
    for layer in reversed(layers):
        current = layer
        for depth, part in enumerate(parts):
            current = current / part
            try:
                st = os.lstat(current)
            except (FileNotFoundError, NotADirectoryError):
                break
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                return None  # a whiteout
            if depth < len(parts) - 1 and stat.S_ISDIR(st.st_mode) and _opaque(current):
                # Nothing below this directory comes from lower layers.
                rest = current.joinpath(*parts[depth + 1 :])
                return rest if os.path.lexists(rest) else None
        else:
            return current
    return None


def resolve(layers: Sequence[Path], path: str, hops: int = 40) -> str:
    """`path` (absolute) with the symlinks on it followed inside the root, as a copy into the
    root's file system would: every component, the last one too; `..` and absolute link targets
    stay inside the root. A trailing `/` is kept."""
    trailing = path.endswith("/") and path != "/"
    todo = [p for p in path.split("/") if p and p != "."]
    done: list[str] = []
    while todo:
        part = todo.pop(0)
        if part == "..":
            if done:
                done.pop()
            continue
        candidate = "/" + "/".join([*done, part])
        found = lookup(layers, candidate)
        if found is not None and found.is_symlink() and hops > 0:
            hops -= 1
            target = os.readlink(found)
            if target.startswith("/"):
                done = []
            todo[:0] = [p for p in target.split("/") if p and p != "."]
            continue
        done.append(part)
    out = "/" + "/".join(done)
    return out + "/" if trailing and out != "/" else out


def _opaque(path: Path) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def is_dir(layers: Sequence[Path], path: str) -> bool:
    found = lookup(layers, path)
    return found is not None and found.is_dir() and not found.is_symlink()


def read_file(layers: Sequence[Path], path: str) -> bytes | None:
    found = lookup(layers, path)
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
    if len(lower) > MAX_LOWER:  # the mount options fit a page: short links to the layers instead
        links = Path(tempfile.mkdtemp(prefix="l", dir=work))
        for number, layer in enumerate(reversed(layers)):
            (links / format(number, "x")).symlink_to(layer)
        lower = ":".join(str(links / format(n, "x")) for n in range(len(layers)))
    syscalls.mount("overlay", str(target), "overlay", os.MS_RDONLY if hasattr(os, "MS_RDONLY") else 1,
                   f"lowerdir={lower}")
    try:
        yield target
    finally:
        syscalls.umount2(str(target), 2)  # MNT_DETACH
        with contextlib.suppress(OSError):
            target.rmdir()
