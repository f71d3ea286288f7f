"""Unpacked contexts kept by content: a build whose context tar is byte for byte one seen before
uses the directory unpacked then (`<root>/build/contexts/<sha256 of the tar>`), so an unchanged
rebuild does not write its context's files again (on this disk, creating a file costs ~0.2 ms).

The request body is spooled to the build's work directory while it is hashed; on a miss it is
unpacked into a fresh directory that is then renamed into place (complete or absent). A build
holds a shared lock on the directory it uses; the oldest directories beyond `KEEP` are removed
when nobody holds them. Nothing writes into a kept context (RUN --mount rw binds get copies).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from runtime.build.context import Context, build_root, find_dockerfile, remove_ignored_files, unpack

KEEP = 4
CHUNK = 1 << 20
LOCK = ".lock"
DOCKERFILE = "dockerfile.json"


def _spool(body: BinaryIO, path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        while chunk := body.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def context_dir(state_root: Path, body: BinaryIO, work: Path, dockerfile: str) -> Iterator[Context]:
    """The unpacked context of `body` and its Dockerfile, for as long as the block runs (blocking:
    run it in a worker thread). The Dockerfile and .dockerignore are dropped from the tree when
    .dockerignore lists them, as dockerd does, before the directory is published."""
    root = build_root(state_root) / "contexts"
    root.mkdir(mode=0o700, exist_ok=True)
    spooled = work / "context.tar"
    key = hashlib.sha256(f"{_spool(body, spooled)}\0{dockerfile}".encode()).hexdigest()
    place = root / key
    if not (place / LOCK).exists():
        fresh = Path(tempfile.mkdtemp(prefix=".new-", dir=root))
        try:
            tree = fresh / "tree"
            tree.mkdir(mode=0o700)
            with open(spooled, "rb") as f:
                unpack(f, tree)
            found = find_dockerfile(tree, dockerfile, dockerfile != "Dockerfile")
            remove_ignored_files(found)
            (fresh / DOCKERFILE).write_text(json.dumps({"path": found.dockerfile, "text": found.text}))
            (fresh / LOCK).touch()
            try:
                os.rename(fresh, place)
            except OSError:  # another build put the same context there first
                shutil.rmtree(fresh, ignore_errors=True)
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            raise
    spooled.unlink(missing_ok=True)
    fd = os.open(place / LOCK, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        os.utime(place)
        _evict(root, keep=place)
        saved = json.loads((place / DOCKERFILE).read_text())
        yield Context(place / "tree", saved["path"], saved["text"])
    finally:
        os.close(fd)


def _evict(root: Path, keep: Path) -> None:
    kept = sorted((p for p in root.iterdir() if not p.name.startswith(".")), key=lambda p: p.stat().st_mtime,
                  reverse=True)
    for old in kept[KEEP:]:
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
            trash = root / f".old-{old.name}"
            os.rename(old, trash)
        except OSError:
            continue
        finally:
            os.close(fd)
        shutil.rmtree(trash, ignore_errors=True)
    for stale in root.glob(".new-*"):
        with contextlib.suppress(OSError):
            if stale.stat().st_mtime < os.path.getmtime(root) - 3600:
                shutil.rmtree(stale, ignore_errors=True)
