"""The host-wide lock under which an engine picks a subnet and makes its bridge.

Engines started side by side (tests, several state roots) must never take
the same predefined subnet: the choice and the bridge holding it happen
under one exclusive flock shared by every engine on the host.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

HOST_LOCK = Path("/run/pycompose/ipam.lock")


@contextlib.contextmanager
def host_lock(path: Path = HOST_LOCK) -> Iterator[None]:
    """An exclusive flock shared by every engine on the host (subnet choice + bridge creation)."""
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
