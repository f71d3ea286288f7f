"""The build cache: which image a step made from a parent, kept under the state root.

A step's key is the SHA-256 of its parent image ID, the container config the step would commit
(its `Cmd` encodes the instruction, the build args in scope and, for COPY/ADD, the sources'
digest, as dockerd's classic builder encodes it), and the platform. One small file per key
(`<root>/build/cache/<key>`, written durably), so concurrent builds never rewrite a shared
index and the cache survives engine restarts. An entry whose image is gone is a miss and is
dropped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.store.durable import fsync_dir, write_atomic


@dataclass(frozen=True)
class Entry:
    key: str
    image_id: str
    parent: str
    created: float
    last_used: float


def step_key(parent: str, config: Mapping[str, Any], platform: str) -> str:
    """The cache key of a step (pure): parent + the probe config + platform."""
    doc = json.dumps({"parent": parent, "config": config, "platform": platform}, sort_keys=True,
                     separators=(",", ":"))
    return hashlib.sha256(doc.encode()).hexdigest()


class BuildCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._uses = root.parent / "cache-uses"
        root.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / key

    def lookup(self, key: str, exists: Callable[[str], bool]) -> str | None:
        """The image a step with this key made, if it is still there."""
        entry = self._read(self._path(key))
        if entry is None:
            return None
        if not exists(entry.image_id):
            self._path(key).unlink(missing_ok=True)
            return None
        with contextlib.suppress(OSError):
            os.utime(self._path(key))  # last used: what prune's `until` filter reads
            self._count(key)
        return entry.image_id

    def _count(self, key: str) -> None:
        """One more use (`GET /system/df`'s UsageCount): a byte appended to `<root>/../cache-uses/<key>`."""
        try:
            fd = os.open(self._uses / key, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:
            self._uses.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(self._uses / key, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, b".")
        finally:
            os.close(fd)

    def uses(self, key: str) -> int:
        """How often the step was made or reused."""
        try:
            return 1 + (self._uses / key).stat().st_size
        except OSError:
            return 1

    def record(self, key: str, image_id: str, parent: str) -> None:
        doc = {"image": image_id, "parent": parent, "created": time.time()}
        write_atomic(self._path(key), json.dumps(doc).encode())
        fsync_dir(self.root)

    def entries(self) -> Iterator[Entry]:
        for path in sorted(self.root.iterdir()):
            if path.name.startswith("."):
                continue
            entry = self._read(path)
            if entry is not None:
                yield entry

    def images(self) -> set[str]:
        return {e.image_id for e in self.entries()}

    def drop(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
        (self._uses / key).unlink(missing_ok=True)

    def _read(self, path: Path) -> Entry | None:
        try:
            doc = json.loads(path.read_bytes())
            used = path.stat().st_mtime
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or not isinstance(doc.get("image"), str):
            return None
        return Entry(path.name, doc["image"], str(doc.get("parent") or ""), float(doc.get("created") or used), used)
