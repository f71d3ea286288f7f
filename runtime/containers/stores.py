"""What the container manager uses of the engine beside its own table: the state root and two stores."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runtime.images.store import ImageStore
    from runtime.volumes.local import VolumeStore


@dataclass(frozen=True)
class Stores:
    """The engine's root and prefix, and its image and volume stores, opened on first use.

    The stores are called for in worker threads: opening one does work the
    event loop must not wait for."""

    root: Path  # the engine's state root; container records live under root/containers
    prefix: str  # of every kernel object the engine makes
    images: Callable[[], ImageStore]
    volumes: Callable[[], VolumeStore]
