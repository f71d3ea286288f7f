"""Unpacked contexts kept by content: a build whose context tar is byte for byte one seen before
uses the directory unpacked then (`<root>/build/contexts/<sha256 of the tar>`), so an unchanged
rebuild does not write its context's files again (on this disk, creating a file costs ~0.2 ms).

The request body is kept (in memory; past SPILL bytes, in the build's work directory) while it is
hashed; on a miss it is unpacked into a fresh directory then renamed into place (complete or absent). A build
holds a shared lock on the directory it uses; the oldest directories beyond `KEEP` are removed
when nobody holds them. Nothing writes into a kept context (RUN --mount rw binds get copies).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import queue
import shutil
import stat
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from runtime.build import sums
from runtime.build.context import Context, build_root, find_dockerfile, remove_ignored_files, unpack
from runtime.build.named import PREFIX

KEEP = 4
CHUNK = 1 << 20
SPILL = 128 << 20  # bytes of context kept in memory while it is hashed
LOCK = ".lock"
DOCKERFILE = "dockerfile.json"
RECEIVED = "received"  # when the body began to arrive
RACY = 2.0  # seconds
NAMED = "named"  # the named contexts' folders, beside the tree
NAMED_KEY = "\0named"


class _Hasher(threading.Thread):
    """Hashes the chunks put on its queue (None ends) while the body's next ones are received:
    sha256 releases the GIL, and the event loop reads the socket meanwhile."""

    def __init__(self) -> None:
        super().__init__(name="context-hash", daemon=True)
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self.digest = hashlib.sha256()

    def run(self) -> None:
        while (chunk := self.queue.get()) is not None:
            self.digest.update(chunk)


class _Spool(io.RawIOBase):
    """The request body, hashed as it arrives and kept for unpacking on a miss: in memory up to
    SPILL bytes (writing 52 MB to this disk and deleting it costs ~0.1 s), past that in `path`."""

    def __init__(self, body: BinaryIO, path: Path) -> None:
        self.chunks: list[bytes] = []
        self.file: BinaryIO | None = None
        self.path = path
        size = 0
        hasher = _Hasher()
        hasher.start()
        try:
            while chunk := body.read(CHUNK):
                hasher.queue.put(chunk)
                size += len(chunk)
                if self.file is None and size > SPILL:
                    self.file = open(path, "w+b")  # noqa: SIM115 - closed by close()
                    self.file.writelines(self.chunks)
                    self.chunks = []
                if self.file is not None:
                    self.file.write(chunk)
                else:
                    self.chunks.append(chunk)
        except BaseException:
            self.close()
            raise
        finally:
            hasher.queue.put(None)
            hasher.join()
        self.digest = hasher.digest.hexdigest()
        if self.file is not None:
            self.file.seek(0)
        self._view = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, target: memoryview) -> int:  # type: ignore[override]
        if self.file is not None:
            return self.file.readinto(target)  # type: ignore[attr-defined]
        if not self._view and self.chunks:
            self._view = memoryview(self.chunks.pop(0))
        n = min(len(target), len(self._view))
        target[:n] = self._view[:n]
        self._view = self._view[n:]
        return n

    def close(self) -> None:
        self.chunks = []
        self._view = memoryview(b"")
        if self.file is not None:
            self.file.close()
            self.path.unlink(missing_ok=True)
        super().close()


@contextlib.contextmanager
def context_dir(state_root: Path, body: BinaryIO, work: Path, dockerfile: str,
                named: bool = False) -> Iterator[Context]:
    """The unpacked context of `body` and its Dockerfile, for as long as the block runs (blocking:
    run it in a worker thread). The Dockerfile and .dockerignore are dropped from the tree when
    .dockerignore lists them, as dockerd does, before the directory is published. `named`: the
    tar's named contexts (named.PREFIX) are moved out of the tree, beside it."""
    root = build_root(state_root) / "contexts"
    root.mkdir(mode=0o700, exist_ok=True)
    received = time.time()
    with _Spool(body, work / "context.tar") as spooled:
        key = hashlib.sha256(f"{spooled.digest}\0{dockerfile}{NAMED_KEY if named else ''}".encode()).hexdigest()
        place = root / key
        if not (place / LOCK).exists():
            _publish(root, place, io.BufferedReader(spooled, CHUNK), dockerfile, named, received)
    fd = os.open(place / LOCK, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        os.utime(place)
        _evict(root, keep=place)
        saved = json.loads((place / DOCKERFILE).read_text())
        sums.publish(place / "tree")
        yield Context(place / "tree", saved["path"], saved["text"], place / NAMED if named else None)
    finally:
        os.close(fd)


def _publish(root: Path, place: Path, stream: BinaryIO, dockerfile: str, named: bool, received: float) -> None:
    """Unpack the context into a fresh directory, then rename it to `place` (complete or absent)."""
    fresh = Path(tempfile.mkdtemp(prefix=".new-", dir=root))
    try:
        tree = fresh / "tree"
        tree.mkdir(mode=0o700)
        with _previous(root) as (reuse, previous):
            unpack(stream, tree, reuse)
            inherited = sums.inherit(previous, tree) if previous is not None else {}
        if named and (tree / PREFIX).is_dir() and not (tree / PREFIX).is_symlink():
            os.rename(tree / PREFIX, fresh / NAMED)
        found = find_dockerfile(tree, dockerfile, dockerfile != "Dockerfile")
        remove_ignored_files(found)
        (fresh / DOCKERFILE).write_text(json.dumps({"path": found.dockerfile, "text": found.text}))
        (fresh / RECEIVED).write_text(repr(received))
        (fresh / LOCK).touch()
        try:
            os.rename(fresh, place)
        except OSError:  # another build put the same context there first
            shutil.rmtree(fresh, ignore_errors=True)
        else:
            sums.publish(place / "tree", inherited)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise


_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class _Same:
    """Finds, in the previous context's tree, a regular file identical to a tar entry (same path,
    size, mode, owner and mtime, no xattrs): the new tree links it instead of writing it again
    (creating a file costs ~25 times a link here). Parents are walked without following links."""

    def __init__(self, tree_fd: int, received: float) -> None:
        self.tree_fd = tree_fd
        self.received = received
        self.dirs: dict[tuple[str, ...], int | None] = {(): tree_fd}  # opened once (the tree is kept)

    def _dir(self, parts: tuple[str, ...]) -> int | None:
        if parts in self.dirs:
            return self.dirs[parts]
        parent = self._dir(parts[:-1])
        fd = None
        if parent is not None:
            with contextlib.suppress(OSError):
                fd = os.open(parts[-1], _DIR, dir_fd=parent)
        self.dirs[parts] = fd
        return fd

    def close(self) -> None:
        for parts, fd in self.dirs.items():
            if parts and fd is not None:
                os.close(fd)
        self.dirs = {}

    def __call__(self, member: tarfile.TarInfo) -> int | None:
        # Racy files (git's word): one changed within a second of the previous context being read
        # can keep its size and (whole-second) mtime; only files older than that are trusted.
        # A member of mtime 0 was made up by the client (a rewritten .dockerignore, an inline
        # Dockerfile): its size and mtime say nothing of its content.
        if member.mtime <= 0 or member.mtime > self.received - RACY or any(
                k.startswith("SCHILY.xattr.") for k in member.pax_headers):
            return None
        parts = [p for p in member.name.split("/") if p not in ("", ".")]
        if not parts or ".." in parts:
            return None
        fd = self._dir(tuple(parts[:-1]))
        if fd is None:
            return None
        try:
            leaf = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=fd)
        except OSError:
            return None
        st = os.fstat(leaf)
        same = (stat.S_IMODE(st.st_mode) == member.mode & 0o7777 and (st.st_uid, st.st_gid) == (member.uid, member.gid)
                and abs(st.st_mtime_ns / 1e9 - member.mtime) < 1e-6)
        if stat.S_ISREG(st.st_mode) and st.st_size == member.size and same:
            return leaf
        os.close(leaf)
        return None


@contextlib.contextmanager
def _previous(root: Path) -> Iterator[tuple[_Same | None, Path | None]]:
    """The newest kept context, held (shared lock) while a new one links its unchanged files."""
    kept = sorted((p for p in root.iterdir() if not p.name.startswith(".")), key=lambda p: p.stat().st_mtime,
                  reverse=True)
    held: list[int] = []
    received = 0.0
    try:
        if kept:
            held.append(os.open(kept[0] / LOCK, os.O_RDONLY | os.O_CLOEXEC))
            fcntl.flock(held[0], fcntl.LOCK_SH)
            held.append(os.open(kept[0] / "tree", _DIR))
            received = float((kept[0] / RECEIVED).read_text())
    except (OSError, ValueError):
        received = 0.0
    try:
        usable = len(held) == 2 and received
        same = _Same(held[1], received) if usable else None
        try:
            yield (same, kept[0] / "tree") if same is not None else (None, None)
        finally:
            if same is not None:
                same.close()
    finally:
        for fd in held:
            os.close(fd)


def drop_unused(state_root: Path) -> None:
    """`POST /build/prune`: every kept context no build is using."""
    root = build_root(state_root) / "contexts"
    if root.is_dir():
        _evict(root, keep=None, limit=0, background=False)


def _evict(root: Path, keep: Path | None, limit: int = KEEP, background: bool = True) -> None:
    """Drop the kept contexts past the newest `limit` that no build holds. Their trees (thousands of
    files) are deleted off the build's path, in a thread of their own, unless `background` is False
    (a prune reports what it freed); a tree a stopped engine left half-deleted goes next time."""
    kept = sorted((p for p in root.iterdir() if not p.name.startswith(".")), key=lambda p: p.stat().st_mtime,
                  reverse=True)
    trash: list[Path] = []
    for old in kept[limit:]:
        if old == keep:
            continue
        try:
            fd = os.open(old / LOCK, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # in use by a build
        try:
            os.rename(old, root / f".old-{old.name}")
            trash.append(root / f".old-{old.name}")
        except OSError:
            continue
        finally:
            os.close(fd)
        sums.forget(old / "tree")
    trash += [left for left in root.glob(".old-*") if left not in trash]  # nobody uses these
    for stale in root.glob(".new-*"):  # a context being unpacked, unless it is an hour old
        with contextlib.suppress(OSError):
            if stale.stat().st_mtime < os.path.getmtime(root) - 3600:
                trash.append(stale)
    if not trash:
        return
    if background:
        threading.Thread(target=_remove_trees, args=(trash,), name="build-contexts-evict", daemon=True).start()
    else:
        _remove_trees(trash)


def _remove_trees(trees: list[Path]) -> None:
    for tree in trees:
        shutil.rmtree(tree, ignore_errors=True)
