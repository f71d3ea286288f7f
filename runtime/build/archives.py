"""ADD of a local archive: recognised as dockerd does (a tar, plain or gzip/bzip2/xz/zstd,
whose first header reads) and its members copied under the destination directory.

Member names are cleaned as Docker's untar does: an absolute name lands under the
destination, a name climbing out of it (`../x`) is refused. Hard links are re-rooted
under the destination with their member.
"""

from __future__ import annotations

import posixpath
import tarfile
from pathlib import Path

from runtime.build.selection import CopyError
from runtime.images.compression import decompressed
from runtime.images.errors import ImageInvalid


def is_archive(path: Path) -> bool:
    """Whether `path` is a tar archive, maybe compressed, with at least one member."""
    try:
        with decompressed(path) as (stream, _), tarfile.open(fileobj=stream, mode="r|") as tar:
            return tar.next() is not None
    except (tarfile.TarError, ImageInvalid, OSError, EOFError):
        return False


def add_members(out: tarfile.TarFile, path: Path, base: str, *, uid: int | None = None,
                gid: int | None = None) -> None:
    """Every member of the archive at `path`, written to `out` under the absolute directory `base`."""
    root = base.strip("/")
    try:
        with decompressed(path) as (stream, _), tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                name = _inside(member.name, base)
                if name is None:
                    continue
                member.name = posixpath.join(root, name) if root else name
                if member.islnk():
                    target = _inside(member.linkname, base)
                    if target is None:
                        raise CopyError(f"invalid hardlink {member.linkname!r} in {path.name}")
                    member.linkname = posixpath.join(root, target) if root else target
                if uid is not None:
                    member.uid = uid
                if gid is not None:
                    member.gid = gid
                member.uname = member.gname = ""
                data = tar.extractfile(member) if member.isreg() else None
                out.addfile(member, data)
    except (tarfile.TarError, ImageInvalid, EOFError) as exc:
        raise CopyError(f"failed to extract {path.name}: {exc}") from None


def _inside(name: str, base: str) -> str | None:
    """The member's path relative to the destination ("" skipped as None); refuses a breakout."""
    cleaned = posixpath.normpath(name.lstrip("/"))
    if cleaned == ".." or cleaned.startswith("../"):
        raise CopyError(f"{name!r} is outside of {base!r}")
    return None if cleaned in ("", ".") else cleaned
