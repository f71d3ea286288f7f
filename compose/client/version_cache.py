"""The API version negotiated with each engine, remembered across command lines.

Negotiating costs a round trip (`GET /_ping`); the CLI's short paths (the
blocking client, the CLI server's forked children) must not pay it on every
command line. For a `unix://` engine the answer is kept in one small JSON
file ($XDG_CACHE_HOME or ~/.cache, `pycompose/api-versions.json`), keyed by
the socket's path and identity (inode and modification time: an engine that
restarts makes a new socket, so a different engine at the same path is asked
again). Other hosts are not cached here. Failures to read or write the file
only cost the round trip.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

CACHE_ENV = "PYCOMPOSE_CACHE_DIR"


def cache_file() -> Path:
    base = os.environ.get(CACHE_ENV)
    if base:
        return Path(base) / "api-versions.json"
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(home) / "pycompose" / "api-versions.json"


def _identity(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_dev, st.st_ino, st.st_mtime_ns]


def _load(file: Path) -> dict[str, list[object]]:
    try:
        data = json.loads(file.read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def lookup(socket: str) -> str | None:
    """The version negotiated with the engine now listening at `socket`, if known."""
    entry = _load(cache_file()).get(socket)
    if not isinstance(entry, list) or len(entry) != 2:
        return None
    identity, version = entry
    if identity != _identity(socket) or not isinstance(version, str):
        return None
    return version


def remember(socket: str, version: str) -> None:
    """Keep `version` for the engine at `socket` (and forget engines whose socket is gone)."""
    identity = _identity(socket)
    if identity is None:
        return
    file = cache_file()
    entries = {path: entry for path, entry in _load(file).items()
               if isinstance(entry, list) and len(entry) == 2 and entry[0] == _identity(path)}
    entries[socket] = [identity, version]
    with contextlib.suppress(OSError):
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".api-versions.", dir=file.parent)
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(entries, out)
            os.replace(tmp, file)
        except OSError:
            os.unlink(tmp)
            raise


def forget(socket: str) -> None:
    """Drop what is known of `socket` (its engine answered that the version is wrong)."""
    file = cache_file()
    entries = _load(file)
    if entries.pop(socket, None) is None:
        return
    with contextlib.suppress(OSError):
        fd, tmp = tempfile.mkstemp(prefix=".api-versions.", dir=file.parent)
        with os.fdopen(fd, "w") as out:
            json.dump(entries, out)
        os.replace(tmp, file)
