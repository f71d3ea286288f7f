"""A changed context made by patching the kept tree it was cut from: the records of the new tar
(tar_records.py) that the kept tree's index does not hold are unpacked over it, the paths it
no longer has removed; the thousands of unchanged files are neither written nor linked again.

Sound only where a record's bytes decide what its path holds: the kept tree's index is written
only when each of its records made one member of its own (no duplicate names, no hard links,
no whiteouts) and nothing was dropped from the tree after unpacking; a patch is planned only
when the new tar's changed records parse as members of the same rules, a path changes no kind
(a file stays a file), and less than half of the records changed. Anything else: None, and the
caller unpacks the whole tar.
"""

from __future__ import annotations

import io
import json
import os
import posixpath
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runtime.build.tar_records import Record
from runtime.images.errors import LayerError
from runtime.images.layers import WHITEOUT, apply_layer, split_name

INDEX = "records.json"  # beside a kept tree: its records, when a patch may start from it
_KINDS = {tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink", tarfile.FIFOTYPE: "fifo"}


@dataclass(frozen=True)
class Member:
    digest: str  # of its record's bytes
    name: str  # the path it made in the tree, parts joined by "/"
    kind: str  # file, dir, symlink or fifo


@dataclass(frozen=True)
class Patch:
    removed: tuple[str, ...]  # paths the kept tree has and the new one does not, deepest first
    changed: bytes  # the new tar's changed records, a tar to unpack over the kept tree
    names: frozenset[str]  # the paths those records make
    links_changed: bool  # a symlink was made, changed or removed: paths resolved through it may differ
    index: tuple[Member, ...]  # the new tree's


def _member(info: tarfile.TarInfo, digest: str) -> Member | None:
    try:
        parts = split_name(info.name, "build context")
    except LayerError:
        return None
    kind = "file" if info.isreg() else _KINDS.get(info.type)
    if not parts or kind is None or parts[-1].startswith(WHITEOUT):
        return None
    return Member(digest, "/".join(parts), kind)


def index_of(records: list[Record], members: dict[int, tarfile.TarInfo]) -> tuple[Member, ...] | None:
    """The index of a tree just unpacked from `records`, given tarfile's members by offset."""
    if len(members) != len(records):
        return None
    index = []
    for record in records:
        info = members.get(record.start)
        found = None if info is None else _member(info, record.digest)
        if found is None:
            return None
        index.append(found)
    return tuple(index) if len({m.name for m in index}) == len(index) else None


def write_index(place: Path, index: tuple[Member, ...] | None) -> None:
    path = place / INDEX
    if index is None:
        path.unlink(missing_ok=True)
        return
    path.write_text(json.dumps([[m.digest, m.name, m.kind] for m in index]))


def read_index(place: Path) -> tuple[Member, ...] | None:
    try:
        rows = json.loads((place / INDEX).read_text())
        return tuple(Member(str(d), str(n), str(k)) for d, n, k in rows)
    except (OSError, ValueError, TypeError):
        return None


def plan(kept: tuple[Member, ...], records: list[Record], read: Callable[[int, int], bytes]) -> Patch | None:
    """The patch that turns the tree of `kept` into the tree of `records` (`read(start, end)`
    gives the new tar's bytes), or None when a whole unpack is the sound or the cheaper way."""
    by_digest = {m.digest: m for m in kept}
    changed = [r for r in records if r.digest not in by_digest]
    if not records or len(changed) * 2 > len(records):
        return None
    data = b"".join(read(r.start, r.end) for r in changed)
    made = _parse(data, changed)
    if made is None:
        return None
    old_kinds = {m.name: m.kind for m in kept}
    if any(old_kinds.get(m.name, m.kind) != m.kind for m in made):
        return None
    fresh = iter(made)
    index = tuple(by_digest[r.digest] if r.digest in by_digest else next(fresh) for r in records)
    names = {m.name for m in index}
    if len(names) != len(index):
        return None
    removed = sorted(set(old_kinds) - names, key=lambda n: (-n.count("/"), n))
    links = any(m.kind == "symlink" for m in made) or any(old_kinds[n] == "symlink" for n in removed)
    return Patch(tuple(removed), data + b"\0" * 1024, frozenset(m.name for m in made), links, index)


def _parse(data: bytes, changed: list[Record]) -> list[Member] | None:
    """The members the changed records make: one each, where the records say they start."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data + b"\0" * 1024), mode="r:") as tar:
            infos = tar.getmembers()
    except (tarfile.TarError, EOFError, ValueError):
        return None
    if len(infos) != len(changed):
        return None
    made = []
    offset = 0
    for record, info in zip(changed, infos, strict=True):
        found = _member(info, record.digest)
        if info.offset != offset or found is None:
            return None
        made.append(found)
        offset += record.end - record.start
    return made


def apply(tree: Path, patch: Patch) -> None:
    """Patch the tree in place (its owner holds it alone). The directories around what changed
    get their times back, as the tar has them; OSError or LayerError leaves it half-patched."""
    parents = {posixpath.dirname(name) for name in (*patch.removed, *patch.names)}
    times = {}
    for parent in parents:
        try:
            st = os.stat(tree / parent, follow_symlinks=False)
        except FileNotFoundError:
            continue  # a directory the patch makes
        if stat.S_ISDIR(st.st_mode):
            times[parent] = (st.st_atime_ns, st.st_mtime_ns)
    for name in patch.removed:
        path = tree / name
        if stat.S_ISDIR(os.lstat(path).st_mode):
            os.rmdir(path)
        else:
            os.unlink(path)
    if patch.names:
        apply_layer(io.BufferedReader(io.BytesIO(patch.changed)), tree, "build context")
    for parent, (atime, mtime) in times.items():
        if parent not in patch.names and os.path.lexists(tree / parent):
            os.utime(tree / parent, ns=(atime, mtime), follow_symlinks=False)

