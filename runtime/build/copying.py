"""COPY/ADD sources: which files a step takes, the digest its cache key holds, the tar it applies.

`select(root, sources)` reads a context directory (or a stage's / an image's root
directory) as Docker does: each source is cleaned inside the root (`../` and a leading
`/` go no further than the root), globs are Go's `filepath.Match` per path component,
a directory gives its contents (not itself), a named symlink is followed inside the
root and symlinks met below a source are copied as symlinks. `--exclude` patterns and
`--parents` (a `/./` pivot) apply as in BuildKit.

`digest(selection)` is the part of the cache key the files make: `file:`/`dir:` per
source, `multi:` over several, over names, content, mode, owner, size, type, link
target and xattrs, never mtimes (the idea of dockerd's tarsum).

`write_tar(selection, dest, out, ...)` (copy_tar.py, exported here) writes the tar to
extract at `/` of the step's root: Docker's destination rules, `--chown` ids, `--chmod`.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat
from collections.abc import Sequence
from pathlib import Path

from runtime.build import sums
from runtime.build.copy_tar import check_dest, resolve_dest, write_tar
from runtime.build.globs import Excluder, has_wildcards, match, unescape
from runtime.build.selection import (
    CopyError,
    Entry,
    Selection,
    Source,
    heredoc_source,
    resolve_in,
)

CHUNK = 1 << 20
_KEPT_XATTRS = ("user.", "security.capability")

__all__ = ["CopyError", "Entry", "Selection", "Source", "check_dest", "digest", "heredoc_source", "resolve_dest",
           "resolve_in", "select", "write_tar"]


def select(root: Path, sources: Sequence[str], *, excludes: Sequence[str] = (), parents: bool = False,
           follow_root: bool = True, what: str = "COPY", context: bool = True) -> Selection:
    """The files `sources` name in `root`. `context` False: root is a stage or image (messages)."""
    if not sources:
        raise CopyError(f"{what} failed: no source files were specified")
    try:
        excluder = Excluder(list(excludes))
    except ValueError as exc:
        raise CopyError(f"{what} failed: {exc}") from None
    picked: list[Source] = []
    for raw in sources:
        pivot, rel = _pivot(raw) if parents else ("", _clean(raw))
        try:
            wild = has_wildcards(rel)
            names = _glob(root, rel) if wild else [unescape(rel)]
        except ValueError as exc:
            raise CopyError(f"{what} failed: {exc}") from None
        for name in names:
            source = _source(root, name, pivot if parents else None, follow_root, excluder)
            if source is _EXCLUDED:
                continue
            if source is None:
                if wild:
                    continue
                where = "file not found in build context or excluded by .dockerignore: " if context else ""
                raise CopyError(f"{what} failed: {where}stat {name or '.'}: file does not exist")
            picked.append(source)
    if not picked:
        raise CopyError(f"{what} failed: no source files were specified")
    return Selection(tuple(picked))


def _clean(raw: str) -> str:
    """A source path made relative to the root: `..` never climbs above it, `/` and `.` are the root."""
    return posixpath.normpath("/" + raw).lstrip("/")


def _pivot(raw: str) -> tuple[str, str]:
    """--parents: (the part above a `/./` pivot, the whole path), both cleaned."""
    text = raw[2:] if raw.startswith("./") else raw
    head, sep, _ = text.partition("/./")
    return (_clean(head) if sep else ""), _clean(text)


def _glob(root: Path, pattern: str) -> list[str]:
    """Relative paths under `root` matching `pattern` component by component, in lexical order."""
    found = [""]
    comps = pattern.split("/")
    for i, comp in enumerate(comps):
        last = i == len(comps) - 1
        step: list[str] = []
        for base in found:
            where = root / base if base else root
            if has_wildcards(comp):
                match(comp, "")  # a malformed pattern fails even where nothing is there
                try:
                    names = sorted(os.listdir(where))
                except OSError:
                    continue
                names = [n for n in names if match(comp, n)]
            else:
                names = [unescape(comp)]
            for name in names:
                path = f"{base}/{name}" if base else name
                try:
                    st = os.lstat(root / path)
                except OSError:
                    continue
                if last or stat.S_ISDIR(st.st_mode):
                    step.append(path)
        found = step
    return found


_EXCLUDED = Source("", False, ())


def _source(root: Path, name: str, pivot: str | None, follow: bool, excluder: Excluder) -> Source | None:
    resolved = resolve_in(root, name, follow)
    if resolved is None:
        return None
    path = root / resolved if resolved else root
    st = os.lstat(path)
    if pivot is None:
        placed = posixpath.basename(name)
    else:
        placed = posixpath.relpath(name, pivot) if pivot else name
        placed = "" if placed == "." else placed
    if not stat.S_ISDIR(st.st_mode):
        if excluder and excluder.excluded(posixpath.basename(name)):
            return _EXCLUDED  # --exclude patterns are relative to the source: a file is its name
        entry = _entry(path, placed or posixpath.basename(name), st)
        return Source(name, False, (entry,) if entry else ())
    entries: list[Entry] = []
    if pivot is not None and placed:
        here = _entry(path, placed, st)
        if here is not None:
            entries.append(here)
    prefix = placed if pivot is not None else ""
    _walk(path, "", prefix, excluder, entries)
    return Source(name, True, tuple(entries))


def _walk(path: Path, name: str, prefix: str, excluder: Excluder, out: list[Entry]) -> None:
    """A directory's contents, depth first in lexical order, symlinks not followed; `name` is the
    path inside the source, which --exclude patterns are matched against (as BuildKit does)."""
    try:
        with os.scandir(path) as found:
            children = sorted((item.name, item.path) for item in found)
    except OSError:
        return
    for child, where in children:
        ctx = f"{name}/{child}" if name else child
        rel = f"{prefix}/{child}" if prefix else child
        if excluder and excluder.excluded(ctx):
            continue
        entry = _entry(where, rel, os.lstat(where))
        if entry is None:
            continue
        out.append(entry)
        if entry.kind == "dir":
            _walk(Path(where), ctx, rel, excluder, out)


def _entry(path: Path | str, rel: str, st: os.stat_result) -> Entry | None:
    mode = st.st_mode
    if stat.S_ISREG(mode):
        kind, size, link = "file", st.st_size, ""
    elif stat.S_ISDIR(mode):
        kind, size, link = "dir", 0, ""
    elif stat.S_ISLNK(mode):
        kind, size, link = "symlink", 0, os.readlink(path)
    elif stat.S_ISFIFO(mode):
        kind, size, link = "fifo", 0, ""
    else:
        return None  # sockets and device nodes are not copied
    return Entry(rel=rel, kind=kind, mode=stat.S_IMODE(mode), uid=st.st_uid, gid=st.st_gid, size=size,
                 mtime=st.st_mtime, linkname=link, xattrs=_xattrs(path),
                 host=Path(path) if kind == "file" else None)


def _xattrs(path: Path | str) -> tuple[tuple[str, bytes], ...]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return ()
    out: list[tuple[str, bytes]] = []
    for key in sorted(names):
        if key.startswith(_KEPT_XATTRS):
            try:
                out.append((key, os.getxattr(path, key, follow_symlinks=False)))
            except OSError:
                continue
    return tuple(out)


# ---- the cache key ----------------------------------------------------------------------

def digest(selection: Selection) -> str:
    """`file:<sha256>` / `dir:<sha256>` for one source, `multi:<sha256>` over several."""
    parts = [_source_digest(s) for s in selection.sources]
    if len(parts) == 1:
        return parts[0]
    return "multi:" + hashlib.sha256(",".join(parts).encode()).hexdigest()


def _source_digest(source: Source) -> str:
    h = hashlib.sha256()
    for entry in source.entries:
        header = (f"{entry.rel}\0{entry.kind}\0{entry.mode:o}\0{entry.uid}\0{entry.gid}\0{entry.size}\0"
                  f"{entry.linkname}\0")
        h.update(header.encode("utf-8", "surrogateescape"))
        for key, value in entry.xattrs:
            h.update(key.encode() + b"=" + value + b"\0")
        if entry.kind == "file":
            h.update(_content_hash(entry))
    return ("dir:" if source.is_dir else "file:") + h.hexdigest()


def _content_hash(entry: Entry) -> bytes:
    if entry.data is not None:
        return hashlib.sha256(entry.data).digest()
    assert entry.host is not None
    known = sums.lookup(entry.host)
    if known is not None:
        return known
    h = hashlib.sha256()
    try:
        with open(entry.host, "rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
    except OSError as exc:
        raise CopyError(f"failed to compute cache key: {entry.rel}: {exc.strerror or exc}") from None
    sums.remember(entry.host, h.digest())
    return h.digest()
