"""A tar archive of small files made in memory: what `PUT /containers/{id}/archive` takes."""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def files_tar(files: Sequence[Mapping[str, Any]]) -> bytes:
    """A tar of `{name, mode, uid, gid, content | file}` entries (a `file` is read now)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in files:
            data = entry["content"].encode() if "content" in entry else Path(entry["file"]).read_bytes()
            info = tarfile.TarInfo(str(entry["name"]))
            info.size, info.mode, info.mtime = len(data), int(entry["mode"]), int(time.time())
            info.uid, info.gid = int(entry["uid"]), int(entry["gid"])
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()
