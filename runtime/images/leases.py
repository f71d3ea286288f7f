"""Leases: blobs and snapshots an operation in flight has made but not yet recorded.

Garbage collection skips anything leased, so a load that runs outside the write lock
cannot lose its half-recorded content to a concurrent `rm` or `prune`. Leases share the
store's write lock, which a collection holds throughout: taking a lease waits for a running
collection, so "lease, then check that it exists" is never raced by a deletion.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager


class Lease:
    def __init__(self, owner: Leases) -> None:
        self._owner = owner
        self.keys: set[str] = set()

    def add(self, key: str) -> None:
        if key not in self.keys:
            self.keys.add(key)
            self._owner._take(key)


class Leases:
    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._held: Counter[str] = Counter()

    def _take(self, key: str) -> None:
        with self._lock:
            self._held[key] += 1

    @contextmanager
    def hold(self) -> Iterator[Lease]:
        lease = Lease(self)
        try:
            yield lease
        finally:
            with self._lock:
                for key in lease.keys:
                    self._held[key] -= 1
                    if self._held[key] <= 0:
                        del self._held[key]

    def held(self) -> set[str]:
        with self._lock:
            return set(self._held)
