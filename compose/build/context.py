"""The build context the client sends with `POST /build`: a tar of the context folder, as the docker CLI's.

`.dockerignore` rules (ignore.py) leave files out; an excluded folder is
not walked unless an exception names something under it (the CLI's prefix
rule). Entries are owned by 0:0 with their mode and mtime kept, symlinks as
links (never followed). The Dockerfile and `.dockerignore` are always sent,
excluded or not. A Dockerfile outside the context, or `dockerfile_inline`,
goes into the tar under a random `.dockerfile.<hex>` name that the
`dockerfile` parameter names and that is appended to the tar's
`.dockerignore`, so the engine drops it from the context after reading it,
as the docker CLI does for `-f -`. When a `<Dockerfile>.dockerignore` beside
the Dockerfile is the one in force, the tar's `.dockerignore` holds its
patterns, so both sides apply the same rules.
"""

from __future__ import annotations

import io
import os
import secrets
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from compose.build.extension import PREFIX, local_folders
from compose.build.ignore import Matcher, ignore_file, read_patterns
from compose.build.spec import BuildSpec
from compose.errors import ComposeError

IGNORE = ".dockerignore"


@dataclass(frozen=True)
class Context:
    dockerfile: str  # the `dockerfile` query parameter: a slash path inside the tar
    files: int  # entries written


def _inside(context: Path, path: Path) -> str | None:
    try:
        return path.resolve().relative_to(context.resolve()).as_posix()
    except ValueError:
        return None


def _info(path: Path, name: str) -> tarfile.TarInfo | None:
    st = path.lstat()
    info = tarfile.TarInfo(name)
    info.mode, info.mtime, info.uid, info.gid = stat.S_IMODE(st.st_mode), int(st.st_mtime), 0, 0
    if stat.S_ISDIR(st.st_mode):
        info.type, info.name = tarfile.DIRTYPE, name + "/"
    elif stat.S_ISLNK(st.st_mode):
        info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path)
    elif stat.S_ISREG(st.st_mode):
        info.size = st.st_size
    else:
        return None  # sockets, fifos, devices: the CLI's tar skips them too
    return info


def _walk(root: Path, matcher: Matcher, skip: str | None, out: tarfile.TarFile, into: str = "",
          reserve: bool = False) -> int:
    """Write `root`'s files not excluded, named `into` + their path under root; `reserve`: refuse
    a top-level entry named as the additional contexts' folder."""
    count = 0

    def visit(folder: Path, prefix: str) -> None:
        nonlocal count
        try:
            names = sorted(os.listdir(folder))
        except OSError as exc:
            raise ComposeError(f"build context: {folder}: {exc.strerror}") from None
        for name in names:
            path, rel = folder / name, f"{prefix}{name}"
            is_dir = path.is_dir() and not path.is_symlink()
            if matcher.excluded(rel):
                if is_dir and matcher.may_hold_exception(rel):
                    visit(path, rel + "/")
                continue
            if reserve and rel == PREFIX:
                raise ComposeError(f"build context: {path}: {PREFIX} is a name reserved for additional contexts")
            info = None if rel == skip else _info(path, into + rel)
            if info is None:
                continue
            if info.isreg():
                try:
                    with path.open("rb") as data:
                        out.addfile(info, data)
                except OSError as exc:
                    raise ComposeError(f"build context: {path}: {exc.strerror}") from None
            else:
                out.addfile(info)
            count += 1
            if is_dir:
                visit(path, rel + "/")

    visit(root, "")
    return count


def _add_bytes(out: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.uid, info.gid = len(data), mode, 0, 0
    out.addfile(info, io.BytesIO(data))


def write_context(spec: BuildSpec, out: IO[bytes]) -> Context:
    """Write the context tar of `spec` to `out`; what the `dockerfile` parameter must say."""
    context = spec.context
    inner = None if spec.dockerfile is None else _inside(context, spec.dockerfile)
    found = ignore_file(context, spec.dockerfile)
    patterns = _patterns(found)
    extra = "" if inner is not None else ".dockerfile." + secrets.token_hex(10)
    dockerfile_name = inner if inner is not None else extra
    sent = list(patterns)  # the docker CLI's TrimBuildFilesFromExcludes: these two always go
    for name in (IGNORE, dockerfile_name):
        if Matcher(sent).excluded(name):
            sent.append("!" + name)
    matcher = Matcher(sent)
    rewrite = bool(extra) or (found is not None and found != context / IGNORE)
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        count = _walk(context, matcher, IGNORE if rewrite else None, tar, reserve=bool(spec.named_contexts))
        if rewrite:
            _add_bytes(tar, IGNORE, "".join(f"{p}\n" for p in [*patterns, extra] if p).encode())
            count += 1
        if spec.named_contexts:
            count += _named(spec, tar)
        if extra:
            text = spec.inline if spec.inline is not None else _read(spec.dockerfile)
            _add_bytes(tar, extra, text.encode(), 0o600)
            count += 1
    return Context(dockerfile_name, count)


def _named(spec: BuildSpec, tar: tarfile.TarFile) -> int:
    """The local additional contexts under PREFIX, each with its own `.dockerignore` applied."""
    folders = local_folders(spec.named_contexts)
    if not folders:
        return 0
    _add_dir(tar, PREFIX)
    count = 1
    for token, folder in folders:
        _add_dir(tar, f"{PREFIX}/{token}")
        patterns = _patterns(ignore_file(folder, None))
        count += 1 + _walk(folder, Matcher(patterns), None, tar, f"{PREFIX}/{token}/")
    return count


def _patterns(found: Path | None) -> list[str]:
    """The patterns of the ignore file `found` (none without one); unreadable, a ComposeError."""
    try:
        return read_patterns(found.read_text(errors="replace")) if found else []
    except OSError as exc:
        raise ComposeError(f"{found}: {exc.strerror}") from None


def _add_dir(out: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name + "/")
    info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, 0o755, 0, 0
    out.addfile(info)


def _read(path: Path | None) -> str:
    assert path is not None
    try:
        return path.read_text()
    except OSError as exc:
        raise ComposeError(f"{path}: {exc.strerror}") from None
