"""The state root's directories and their modes, as dockerd keeps /var/lib/docker.

dockerd chmods its root to 0711 at every start (setupDaemonRoot), makes
`containers/` and `overlay2/` (layer contents) 0710, `image/` 0700 and
`volumes/` 0701. Ours: `images/` holds both layer contents (`snapshots/`,
overlay2's part) and metadata (`blobs/`, `images.db`, image/'s part), so it
and `snapshots/` are 0710 and `blobs/` 0700. The supervisor's state and the
network records are nobody else's business: 0700. The engine id is 0600, as
dockerd's `engine-id`.

Each store makes its own directory with its mode when first opened (the
engine opens them lazily); `prepare`, at boot, makes the root and corrects
the modes of whatever is there, so a root made by an older engine (images/
0755) or under a narrow umask is put right.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

ROOT_MODE = 0o711
DIRECTORIES: tuple[tuple[str, int], ...] = (
    ("containers", 0o710),
    ("images", 0o710),
    ("images/snapshots", 0o710),
    ("images/blobs", 0o700),
    ("volumes", 0o701),
    ("networks", 0o700),
    ("supervisor", 0o700),
)
FILES: tuple[tuple[str, int], ...] = (
    ("engine-id", 0o600),
)


def prepare(root: Path) -> None:
    """Make the root; give it and the directories and files already in it their modes."""
    root.mkdir(mode=ROOT_MODE, parents=True, exist_ok=True)
    _set_mode(root, ROOT_MODE)
    for relative, mode in DIRECTORIES + FILES:
        with contextlib.suppress(FileNotFoundError):
            _set_mode(root / relative, mode)


def _set_mode(path: Path, mode: int) -> None:
    st = os.stat(path, follow_symlinks=False)
    if stat.S_ISLNK(st.st_mode):
        raise NotADirectoryError(f"{path} is a symbolic link")
    if stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)
