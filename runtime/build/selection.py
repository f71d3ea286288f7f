"""What a COPY/ADD takes: its sources and their entries, as `copying.select` finds them.

Shared by the selection (copying.py), the tar writer (copy_tar.py) and the ADD paths
(fetch.py); `resolve_in` also serves owners.py (a root's /etc files).
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

MAX_LINKS = 255


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
    unpack: bool = True  # ADD may extract it if it is a tar (False: a downloaded URL, a heredoc)


@dataclass(frozen=True)
class Selection:
    sources: tuple[Source, ...]

    @property
    def single_file(self) -> bool:
        return len(self.sources) == 1 and not self.sources[0].is_dir

    @property
    def size(self) -> int:
        return sum(e.size for s in self.sources for e in s.entries if e.kind == "file")


def heredoc_source(name: str, content: bytes, mode: int = 0o644) -> Source:
    """`COPY <<EOF /dest`: a file named after its delimiter, holding the heredoc's text."""
    entry = Entry(rel=name, kind="file", mode=mode, uid=0, gid=0, size=len(content), mtime=time.time(),
                  data=content)
    return Source(name=name, is_dir=False, entries=(entry,), unpack=False)


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
