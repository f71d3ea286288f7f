"""The archive job run inside a live container's root (supervisor/archive.py forks and chroots for it).

Inside the chroot the container's file system is a single tree, volumes and
bind mounts in place, so the archive module's merged view is given `/` as
its only layer: the destination and every parent are resolved component by
component inside that root, and entries are written with the layer
extractor's guarantees (never through a symlink, `..` refused). The result
is a plain dict that goes back to the engine as one JSON line.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any, BinaryIO

from runtime.containers import archive_out
from runtime.containers.archive import put_archive, stat_path
from runtime.errors import EngineError

SENDING = ("get", "export")  # actions that answer with a line, then a tar


def preload() -> None:
    """Import what tarfile may import lazily (compressed archives): the chroot hides the host's modules."""
    import bz2  # noqa: F401
    import gzip  # noqa: F401
    import lzma  # noqa: F401
    import zlib  # noqa: F401

    b"".decode("utf-8", "surrogateescape")
    "".encode("ascii", "surrogateescape")


# A path too long for the filesystem is bad input (400), as the API's decoder says it; a missing one 404.
_STATUS = {errno.EROFS: 403, errno.ENAMETOOLONG: 400, errno.ENOENT: 404}


def run(job: dict[str, Any], stream: BinaryIO, root: Path = Path("/")) -> dict[str, Any]:
    """Do `job` ({action, path, strict, owner}) in the tree at `root`; the answer for the engine."""
    try:
        if job["action"] == "stat":
            return {"ok": True, "stat": stat_path(root, [], job["path"])}
        owner = job.get("owner")
        result = put_archive(root, [], job["path"], stream, bool(job.get("strict")),
                             (int(owner[0]), int(owner[1])) if owner else None)
        return {"ok": True, "size": result.size, "skipped": result.skipped}
    except EngineError as exc:
        return {"ok": False, "status": exc.status, "message": exc.message}
    except OSError as exc:
        what = "cannot stat" if job.get("action") == "stat" else "cannot extract"
        status = _STATUS.get(exc.errno or 0, 500)
        return {"ok": False, "status": status, "message": f"{what}: {exc.strerror or exc}"}
    except Exception as exc:
        return {"ok": False, "status": 500, "message": f"cannot extract: {type(exc).__name__}: {exc}"}


def send(job: dict[str, Any], out: BinaryIO) -> bool:
    """`get`/`export` in the tree at `/` (the job is chrooted): one JSON line (the path's stat, or the
    error), then the tar. False when the tar could not be finished (the engine sees a cut stream)."""
    try:
        head = {"ok": True, "stat": archive_out.head(job["path"])} if job["action"] == "get" else {"ok": True}
    except EngineError as exc:
        head = {"ok": False, "status": exc.status, "message": exc.message}
    except OSError as exc:
        status = _STATUS.get(exc.errno or 0, 500)
        head = {"ok": False, "status": status, "message": f"cannot stat: {exc.strerror or exc}"}
    out.write(json.dumps(head, separators=(",", ":")).encode() + b"\n")
    if not head["ok"]:
        return True
    try:
        if job["action"] == "get":
            archive_out.write_path(job["path"], out)
        else:
            archive_out.write_root(out)
        out.flush()
    except (OSError, EngineError):
        return False
    return True
