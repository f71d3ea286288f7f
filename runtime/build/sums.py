"""The sha256 of the files of kept context trees (contexts.py), remembered in this process so a
COPY does not read 52 MB again to find its cache key when the files have not changed.

A kept tree is never written once published, so a hash known for one of its paths stays true
while the tree is kept. A new tree's file that is the previous tree's inode (contexts.py links
it only after comparing its bytes with the tar's) takes the previous tree's hash: never on size
or mtime alone. A tree's hashes are dropped when it is evicted; a tree patched into a new context (context_patch.py)
keeps those of the paths the patch did not touch (none if it touched a symlink).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

_lock = threading.Lock()
_trees: dict[str, dict[str, bytes]] = {}  # a kept tree's path -> its file's relative path -> sha256


def _split(host: Path) -> tuple[dict[str, bytes], str] | None:
    text = str(host)
    with _lock:
        for tree, sums in _trees.items():
            if text.startswith(tree + "/"):
                return sums, text[len(tree) + 1:]
    return None


def lookup(host: Path) -> bytes | None:
    found = _split(host)
    return None if found is None else found[0].get(found[1])


def remember(host: Path, digest: bytes) -> None:
    found = _split(host)
    if found is not None:
        with _lock:
            found[0][found[1]] = digest


def publish(tree: Path, inherited: dict[str, bytes] | None = None) -> None:
    """`tree` is kept from now on (published; nothing writes into it)."""
    with _lock:
        sums = _trees.setdefault(str(tree), {})
        for rel, digest in (inherited or {}).items():
            sums.setdefault(rel, digest)


def forget(tree: Path) -> None:
    take(tree)


def take(tree: Path) -> dict[str, bytes]:
    """The hashes known for `tree`, forgotten (the tree is about to change or go)."""
    with _lock:
        return _trees.pop(str(tree), {})


def inherit(previous: Path, fresh: Path) -> dict[str, bytes]:
    """The hashes of `previous`'s files that `fresh` holds as the same inode (hard links)."""
    with _lock:
        known = dict(_trees.get(str(previous), {}))
    kept: dict[str, bytes] = {}
    if not known:
        return kept
    old_fd = os.open(previous, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        new_fd = os.open(fresh, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for rel, digest in known.items():
                try:
                    old = os.stat(rel, dir_fd=old_fd, follow_symlinks=False)
                    new = os.stat(rel, dir_fd=new_fd, follow_symlinks=False)
                except OSError:
                    continue
                if old.st_ino == new.st_ino and old.st_dev == new.st_dev:
                    kept[rel] = digest
        finally:
            os.close(new_fd)
    finally:
        os.close(old_fd)
    return kept
