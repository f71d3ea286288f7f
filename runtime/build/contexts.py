"""Unpacked contexts kept by content: a build whose context tar holds the records of one seen
before uses the directory unpacked then (`<root>/build/contexts/<key>`), so an unchanged rebuild
does not write its context's files again (on this disk, creating a file costs ~0.2 ms).

The request body is kept (spool.py) while it is cut into hashed records. On a miss, the tree
the last build used is patched into the new one when few records changed and nobody holds it
(context_patch.py); otherwise the tar is unpacked into a fresh directory, linking the files the
last tree has alike. Either is renamed into place complete or not at all. A build holds a shared
lock on the directory it uses; the oldest directories beyond `KEEP` are removed when nobody holds
them. Nothing writes into a kept context while it is kept (RUN --mount rw binds get copies).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import secrets
import shutil
import stat
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from runtime.build import context_patch, sums
from runtime.build.context import Context, build_root, find_dockerfile, remove_ignored_files, unpack
from runtime.build.named import PREFIX
from runtime.build.spool import CHUNK, Spool
from runtime.images.errors import LayerError

KEEP = 4
LOCK = ".lock"
DOCKERFILE = "dockerfile.json"
RECEIVED = "received"  # when the body began to arrive
RACY = 2.0  # seconds
NAMED = "named"  # the named contexts' folders, beside the tree
NAMED_KEY = "\0named"


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
    with Spool(body, work / "context.tar") as spooled:
        key = hashlib.sha256(f"{spooled.digest}\0{dockerfile}{NAMED_KEY if named else ''}".encode()).hexdigest()
        place = root / key
        for _ in range(3):  # a kept directory can be taken away (patched, evicted) between look and hold
            fd = _hold(place)
            if fd is not None:
                break
            if not _patched(root, place, spooled, dockerfile, named):
                _publish(root, place, spooled, dockerfile, named, received)
        else:
            raise RuntimeError(f"build context {key}: taken away while unpacked three times")
    try:
        os.utime(place)
        _evict(root, keep=place)
        saved = json.loads((place / DOCKERFILE).read_text())
        sums.publish(place / "tree")
        yield Context(place / "tree", saved["path"], saved["text"], place / NAMED if named else None)
    finally:
        os.close(fd)


def _hold(place: Path) -> int | None:
    """A shared lock on the kept directory at `place`, or None when there is none."""
    try:
        fd = os.open(place / LOCK, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    fcntl.flock(fd, fcntl.LOCK_SH)
    try:
        same = os.path.samestat(os.fstat(fd), os.stat(place / LOCK))
    except FileNotFoundError:
        same = False
    if not same:
        os.close(fd)
        return None
    return fd


def _publish(root: Path, place: Path, spooled: Spool, dockerfile: str, named: bool, received: float) -> None:
    """Unpack the context into a fresh directory, then rename it to `place` (complete or absent)."""
    fresh = Path(tempfile.mkdtemp(prefix=".new-", dir=root))
    try:
        tree = fresh / "tree"
        tree.mkdir(mode=0o700)
        members: dict[int, tarfile.TarInfo] = {}
        with _previous(root) as (reuse, previous):
            unpack(io.BufferedReader(spooled, CHUNK), tree, reuse, seen=lambda m: members.__setitem__(m.offset, m))
            inherited = sums.inherit(previous, tree) if previous is not None else {}
        index = None
        if spooled.records is not None and not named:
            index = context_patch.index_of(spooled.records, members)
        _seal(fresh, place, dockerfile, named, received, index, inherited)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise


def _seal(fresh: Path, place: Path, dockerfile: str, named: bool, received: float,
          index: tuple[context_patch.Member, ...] | None, inherited: dict[str, bytes]) -> None:
    """The unpacked tree in `fresh` completed (Dockerfile found, ignored files dropped, named
    contexts moved beside it) and renamed to `place`."""
    tree = fresh / "tree"
    if named and (tree / PREFIX).is_dir() and not (tree / PREFIX).is_symlink():
        os.rename(tree / PREFIX, fresh / NAMED)
    found = find_dockerfile(tree, dockerfile, dockerfile != "Dockerfile")
    if remove_ignored_files(found):
        index = None  # the tree no longer holds what its records made
    context_patch.write_index(fresh, index)
    (fresh / DOCKERFILE).write_text(json.dumps({"path": found.dockerfile, "text": found.text}))
    (fresh / RECEIVED).write_text(repr(received))
    (fresh / LOCK).touch()
    try:
        os.rename(fresh, place)
    except OSError:  # another build put the same context there first
        shutil.rmtree(fresh, ignore_errors=True)
    else:
        sums.publish(place / "tree", inherited)


def _patched(root: Path, place: Path, spooled: Spool, dockerfile: str, named: bool) -> bool:
    """Make `place` from the newest kept context by patching its tree (context_patch.py), when
    its index allows and no build holds it; False when the whole tar must be unpacked."""
    kept = _newest(root)
    if spooled.records is None or named or kept is None:
        return False
    index = context_patch.read_index(kept)
    patch = None if index is None else context_patch.plan(index, spooled.records, spooled.read_range)
    if patch is None:
        return False
    try:
        fd = os.open(kept / LOCK, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            received = float((kept / RECEIVED).read_text())  # its files came then: racy ones stay so
            fresh = root / f".new-{secrets.token_hex(8)}"
            os.rename(kept, fresh)
        except (OSError, ValueError):
            return False
        known = sums.take(kept / "tree")
        try:
            try:
                context_patch.apply(fresh / "tree", patch)
            except (OSError, LayerError):
                shutil.rmtree(fresh, ignore_errors=True)
                return False
            gone = set(patch.removed) | patch.names
            inherited = {} if patch.links_changed else {k: v for k, v in known.items() if k not in gone}
            _seal(fresh, place, dockerfile, named, received, patch.index, inherited)
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        return True
    finally:
        os.close(fd)


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
    kept = [newest] if (newest := _newest(root)) is not None else []
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


def _newest(root: Path) -> Path | None:
    """The kept context a build used last."""
    return max(_kept(root), key=_used, default=None)


def _kept(root: Path) -> list[Path]:
    return [p for p in root.iterdir() if not p.name.startswith(".")]


def _used(place: Path) -> float:
    try:
        return place.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def drop_unused(state_root: Path) -> None:
    """`POST /build/prune`: every kept context no build is using."""
    root = build_root(state_root) / "contexts"
    if root.is_dir():
        _evict(root, keep=None, limit=0, background=False)


def _evict(root: Path, keep: Path | None, limit: int = KEEP, background: bool = True) -> None:
    """Drop the kept contexts past the newest `limit` that no build holds. Their trees (thousands of
    files) are deleted off the build's path, in a thread of their own, unless `background` is False
    (a prune reports what it freed); a tree a stopped engine left half-deleted goes next time."""
    kept = sorted(_kept(root), key=_used, reverse=True)
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
