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

`write_tar(selection, dest, out, ...)` writes the tar to extract at `/` of the
step's root: Docker's destination rules, `--chown` ids, `--chmod` (octal or symbolic).
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import stat
import tarfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from runtime.build.globs import Excluder, has_wildcards, match, unescape
from runtime.build.modes import ModeError, parse_chmod

CHUNK = 1 << 20
MAX_LINKS = 255
_KEPT_XATTRS = ("user.", "security.capability")


class CopyError(Exception):
    """A COPY/ADD that cannot be done; `str(e)` is dockerd's line (`COPY failed: ...`)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Entry:
    rel: str  # where it goes, relative to the destination directory
    kind: str  # file | dir | symlink | fifo
    mode: int  # permission bits, with setuid/setgid/sticky
    uid: int
    gid: int
    size: int
    mtime: float
    linkname: str = ""
    xattrs: tuple[tuple[str, bytes], ...] = ()
    host: Path | None = None  # a regular file's content on the host
    data: bytes | None = None  # a heredoc's content


@dataclass(frozen=True)
class Source:
    name: str  # the source as matched, relative to the root ("" is the root itself)
    is_dir: bool  # a directory gives its contents; a file (or heredoc) gives one entry
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Selection:
    sources: tuple[Source, ...]

    @property
    def single_file(self) -> bool:
        return len(self.sources) == 1 and not self.sources[0].is_dir

    @property
    def size(self) -> int:
        return sum(e.size for s in self.sources for e in s.entries if e.kind == "file")


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
            if name and excluder and excluder.excluded(name):
                continue
            source = _source(root, name, pivot if parents else None, follow_root, excluder)
            if source is None:
                if wild:
                    continue
                where = "file not found in build context or excluded by .dockerignore: " if context else ""
                raise CopyError(f"{what} failed: {where}stat {name or '.'}: file does not exist")
            picked.append(source)
    if not picked:
        raise CopyError(f"{what} failed: no source files were specified")
    return Selection(tuple(picked))


def heredoc_source(name: str, content: bytes, mode: int = 0o644) -> Source:
    """`COPY <<EOF /dest`: a file named after its delimiter, holding the heredoc's text."""
    entry = Entry(rel=name, kind="file", mode=mode, uid=0, gid=0, size=len(content), mtime=time.time(),
                  data=content)
    return Source(name=name, is_dir=False, entries=(entry,))


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


def resolve_in(root: Path, rel: str, follow_last: bool = True) -> str | None:
    """`rel` with its symlinks followed as if `root` were `/`; None when something is missing."""
    parts = [p for p in rel.split("/") if p]
    done: list[str] = []
    links = 0
    while parts:
        comp = parts.pop(0)
        if comp == ".":
            continue
        if comp == "..":
            if done:
                done.pop()
            continue
        path = root.joinpath(*done, comp)
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISLNK(st.st_mode) and (parts or follow_last):
            links += 1
            if links > MAX_LINKS:
                return None
            target = os.readlink(path)
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p] + parts
            continue
        if parts and not stat.S_ISDIR(st.st_mode):
            return None
        done.append(comp)
    return "/".join(done)


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
        entry = _entry(path, placed or posixpath.basename(name), st)
        return Source(name, False, (entry,) if entry else ())
    entries: list[Entry] = []
    if pivot is not None and placed:
        here = _entry(path, placed, st)
        if here is not None:
            entries.append(here)
    prefix = placed if pivot is not None else ""
    _walk(path, name, prefix, excluder, entries)
    return Source(name, True, tuple(entries))


def _walk(path: Path, name: str, prefix: str, excluder: Excluder, out: list[Entry]) -> None:
    """A directory's contents, depth first in lexical order, symlinks not followed."""
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return
    for child in names:
        ctx = f"{name}/{child}" if name else child
        rel = f"{prefix}/{child}" if prefix else child
        if excluder and excluder.excluded(ctx):
            continue
        st = os.lstat(path / child)
        entry = _entry(path / child, rel, st)
        if entry is None:
            continue
        out.append(entry)
        if entry.kind == "dir":
            _walk(path / child, ctx, rel, excluder, out)


def _entry(path: Path, rel: str, st: os.stat_result) -> Entry | None:
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
                 host=path if kind == "file" else None)


def _xattrs(path: Path) -> tuple[tuple[str, bytes], ...]:
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
    h = hashlib.sha256()
    with open(entry.host, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.digest()


# ---- the tar ---------------------------------------------------------------------------

def resolve_dest(dest: str, workdir: str) -> str:
    """The destination as an absolute path: relative to WORKDIR, a trailing `/` (or `.`) kept as `/`."""
    as_dir = dest.endswith("/") or dest in (".", "") or dest.endswith("/.")
    path = posixpath.normpath(posixpath.join("/", workdir or "/", dest))
    return path if not as_dir or path == "/" else path + "/"


def check_dest(selection: Selection, dest: str, what: str = "COPY") -> None:
    """dockerd's refusal of several sources to a destination that does not end with `/`."""
    if len(selection.sources) > 1 and not dest.endswith("/"):
        raise CopyError(f"When using {what} with more than one source file, "
                        "the destination must be a directory and end with a /")


def write_tar(selection: Selection, dest: str, out: BinaryIO, *, dest_is_dir: bool, uid: int | None = None,
              gid: int | None = None, chmod: str = "", mtime: float | None = None,
              exists: Callable[[str], bool] | None = None, what: str = "COPY") -> None:
    """The tar that, extracted at `/`, performs the copy to the absolute `dest`.

    `dest_is_dir`: `dest` is a directory in the step's root already. `uid`/`gid` None keep the
    files' ids. `exists(path)` (absolute), when given, tells which parent directories the root
    has: those it lacks are written 0755 with the new owner, as Docker creates them."""
    check_dest(selection, dest, what)
    try:
        mode_of = parse_chmod(chmod)
    except ModeError as exc:
        raise CopyError(str(exc)) from None
    base = posixpath.normpath("/" + dest.lstrip("/"))
    nested = any("/" in e.rel for s in selection.sources for e in s.entries)
    as_dir = dest.endswith("/") or dest_is_dir or base == "/" or not selection.single_file or nested
    now = time.time() if mtime is None else mtime
    owner = (0 if uid is None else uid, 0 if gid is None else gid)
    written: set[str] = set()
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        def parents_of(path: str) -> None:
            parent = posixpath.dirname(path)
            if parent == "/" or parent in written:
                return
            parents_of(parent)
            written.add(parent)
            if exists is not None and not exists(parent):
                tar.addfile(_dir_info(parent, owner, now))

        if as_dir and base != "/":
            parents_of(base + "/x")
        for source in selection.sources:
            for entry in source.entries:
                target = posixpath.join(base, entry.rel) if as_dir else base
                parents_of(target)
                info = _info(entry, target, uid, gid, mtime)
                if mode_of is not None:
                    info.mode = mode_of.apply(info.mode, entry.kind == "dir")
                written.add(target)
                if entry.kind == "file":
                    _add_file(tar, info, entry)
                else:
                    tar.addfile(info)


def _dir_info(path: str, owner: tuple[int, int], mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path.lstrip("/"))
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    info.uid, info.gid = owner
    info.mtime = int(mtime)
    return info


_TYPES = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "fifo": tarfile.FIFOTYPE}


def _info(entry: Entry, target: str, uid: int | None, gid: int | None, mtime: float | None) -> tarfile.TarInfo:
    info = tarfile.TarInfo(target.lstrip("/"))
    info.type = _TYPES[entry.kind]
    info.mode = entry.mode
    info.uid = entry.uid if uid is None else uid
    info.gid = entry.gid if gid is None else gid
    info.size = entry.size if entry.kind == "file" else 0
    info.mtime = int(entry.mtime if mtime is None else mtime)
    info.linkname = entry.linkname
    if entry.xattrs:
        info.pax_headers = {f"SCHILY.xattr.{k}": v.decode("utf-8", "surrogateescape") for k, v in entry.xattrs}
    return info


def _add_file(tar: tarfile.TarFile, info: tarfile.TarInfo, entry: Entry) -> None:
    if entry.data is not None:
        tar.addfile(info, io.BytesIO(entry.data))
        return
    assert entry.host is not None
    with open(entry.host, "rb") as f:
        tar.addfile(info, f)
