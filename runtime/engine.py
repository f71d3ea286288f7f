"""The engine: one state root, one id, and the stores that live under it.

Everything the engine owns sits under `root` (passed in, so tests run many
engines side by side). Every kernel object it makes carries `prefix`, `pyc`
plus the engine id, so a private engine can find and remove exactly its own.
The stores are opened on first use: the daemon starts without importing
them, and the API layer reaches them through worker threads.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from runtime import layout
from runtime.build.copy_reuse import Traces

if TYPE_CHECKING:
    from runtime.containers.manager import ContainerManager
    from runtime.images.store import ImageStore
    from runtime.network.manager import NetworkManager
    from runtime.volumes.local import VolumeStore

ID_FILE = "engine-id"
PIDFILE = "engine.pid"
PREFIX = "pyc"
# 4 hex digits keep `pyc` + id at 7 characters, leaving 8 of the kernel's 15
# for the object's own name (veth, bridge) while making a clash between
# engines that run side by side unlikely.
ID_LENGTH = 4
_ID = re.compile(r"[0-9a-f]{4,8}")


class EngineStateError(Exception):
    """The state root cannot be used (unreadable, or not ours)."""


class Engine:
    def __init__(self, root: Path, engine_id: str) -> None:
        self.root = root
        self.id = engine_id
        self._lock = threading.Lock()
        self._images: ImageStore | None = None
        self._volumes: VolumeStore | None = None
        # Set by the daemon once the supervisor is connected (None: no containers, e.g. in image-only tests).
        self.containers: ContainerManager | None = None
        # Set by the daemon once its networks are up (None: containers get no bridge networking).
        self.networks: NetworkManager | None = None
        # The last tars of COPY steps, which the next build of the same step starts from.
        self.build_traces = Traces()

    @classmethod
    def open(cls, root: Path) -> Engine:
        """Create or reopen the state root and its engine id."""
        try:
            layout.prepare(root)  # Docker's modes, fixed on roots made by older engines too
            return cls(root, read_or_create_id(root / ID_FILE))
        except OSError as exc:
            raise EngineStateError(f"cannot use state root {root}: {exc.strerror or exc}") from exc

    @property
    def prefix(self) -> str:
        """The name prefix of every kernel object of this engine, e.g. `pyc3f9a`."""
        return PREFIX + self.id

    @property
    def pidfile(self) -> Path:
        return self.root / PIDFILE

    @property
    def images(self) -> ImageStore:
        """The image store, opened on first use (from a worker thread).

        Opening repairs what a crash left behind, which is work the daemon's
        start and its event loop must not wait for.
        """
        with self._lock:
            if self._images is None:
                from runtime.images.store import ImageStore

                self._images = ImageStore(self.root / "images")
            return self._images

    @property
    def volumes(self) -> VolumeStore:
        """The volume store, opened on first use (it scans <root>/volumes)."""
        with self._lock:
            if self._volumes is None:
                from runtime.volumes.local import VolumeStore

                self._volumes = VolumeStore(self.root / "volumes")
            return self._volumes

    def image_in_use(self, image_id: str) -> bool:
        """Whether a container refers to the image."""
        containers = self.containers
        return containers is not None and containers.table.image_in_use(image_id)

    def container_counts(self) -> dict[str, int]:
        """Containers by state, as /info reports them."""
        containers = self.containers
        if containers is None:
            return {"Containers": 0, "ContainersRunning": 0, "ContainersPaused": 0, "ContainersStopped": 0}
        from runtime.containers.views import counts

        return counts(containers.table)

    def close(self) -> None:
        with self._lock:
            store, self._images = self._images, None
        if store is not None:
            store.close()


def read_or_create_id(path: Path) -> str:
    """The engine id stored at `path`; a new random one on first start."""
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return _create_id(path)
    if not _ID.fullmatch(text):
        raise EngineStateError(f"{path}: not an engine id: {text[:40]!r}")
    return text


def _create_id(path: Path) -> str:
    engine_id = os.urandom(ID_LENGTH // 2).hex()
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(engine_id + "\n")
    try:
        # link() fails if another engine got there first; then theirs wins.
        os.link(tmp, path)
    except FileExistsError:
        return read_or_create_id(path)
    finally:
        tmp.unlink()
    return engine_id
