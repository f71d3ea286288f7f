"""Snapshot directories: `snapshots/<chain id hex>/fs`, one per layer chain, shared by images.

A snapshot is filled in a `.tmp-*` directory and renamed into place with a `complete`
marker inside, so a directory under its chain ID is always whole; what a kill leaves is a
`.tmp-*` (or a `.del-*` being removed), which `repair()` clears.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from runtime.store.blobs import is_digest
from runtime.store.durable import fsync_dir

T = TypeVar("T")
MARKER = "complete"


class Snapshots:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(mode=0o710, parents=True, exist_ok=True)

    def dir(self, chain_id: str) -> Path:
        if not is_digest(chain_id):
            raise ValueError(f"invalid chain ID {chain_id!r}")
        return self.root / chain_id[len("sha256:") :]

    def fs(self, chain_id: str) -> Path:
        return self.dir(chain_id) / "fs"

    def exists(self, chain_id: str) -> bool:
        return (self.dir(chain_id) / MARKER).is_file()

    def create(self, chain_id: str, fill: Callable[[Path], T]) -> T | None:
        """Fill a new snapshot with `fill(fs_dir)` and publish it atomically.

        Returns fill's result, or None when the snapshot already existed (made by someone
        else meanwhile); a `fill` that raises leaves nothing behind."""
        final = self.dir(chain_id)
        if self.exists(chain_id):
            return None
        tmp = self.root / f".tmp-{chain_id[7:19]}-{secrets.token_hex(6)}"
        (tmp / "fs").mkdir(parents=True)
        try:
            os.chmod(tmp / "fs", 0o755)
            result = fill(tmp / "fs")
            marker = tmp / MARKER
            with open(marker, "w") as f:
                f.write(chain_id + "\n")
                f.flush()
                os.fsync(f.fileno())
            fsync_dir(tmp)
            try:
                os.rename(tmp, final)
            except OSError:
                if not self.exists(chain_id):
                    raise
                _remove_tree(tmp)
                return None
            fsync_dir(self.root)
        except BaseException:
            _remove_tree(tmp)
            raise
        return result

    def remove(self, chain_id: str) -> None:
        final = self.dir(chain_id)
        trash = self.root / f".del-{secrets.token_hex(8)}"
        try:
            os.rename(final, trash)  # vanish atomically, then take time to delete
        except FileNotFoundError:
            return
        _remove_tree(trash)

    def ids(self) -> list[str]:
        return [
            "sha256:" + e.name
            for e in os.scandir(self.root)
            if e.is_dir(follow_symlinks=False) and is_digest("sha256:" + e.name)
        ]

    def repair(self) -> list[str]:
        """Remove interrupted fills and deletions, and directories without the marker."""
        removed = []
        for entry in os.scandir(self.root):
            path = Path(entry.path)
            if entry.name.startswith((".tmp-", ".del-")) or (
                entry.is_dir(follow_symlinks=False) and not (path / MARKER).is_file()
            ):
                _remove_tree(path)
                removed.append(entry.path)
        return removed


def _remove_tree(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=False)
    else:
        path.unlink(missing_ok=True)
