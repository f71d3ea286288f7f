"""One volume's metadata and its file: `<volumes root>/<name>/volume.json`, next to `_data`.

The directory is the index: a volume exists when `<name>/_data` does, so a
crash between making the directory and writing the file leaves a plain
volume (no labels), as Docker's local driver adopts directories it finds.
The file is replaced whole (write, fsync, rename); reference updates skip
the fsync because the container manager rebuilds them at boot anyway.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runtime.store.durable import fsync_dir, write_atomic

META_FILE = "volume.json"
DATA_DIR = "_data"
LOCAL = "local"
ANONYMOUS_LABEL = "com.docker.volume.anonymous"


@dataclass
class VolumeRecord:
    name: str
    created_at: str  # RFC 3339, seconds, UTC (Docker's local driver: time.RFC3339)
    driver: str = LOCAL
    # None and {} are both kept: Docker answers `null` for a volume made without them and `{}` when sent empty.
    labels: dict[str, str] | None = None
    options: dict[str, str] | None = None
    references: list[str] = field(default_factory=list)  # ids of the containers that use it
    # Set once the volume was found holding data (copied from an image or not): never copy into it again.
    populated: bool = False

    @property
    def anonymous(self) -> bool:
        return self.labels is not None and ANONYMOUS_LABEL in self.labels

    @property
    def mounts_device(self) -> bool:
        """Whether the local driver mounts something at `_data` (driver_opts type/device)."""
        return bool(self.options and (self.options.get("type") or self.options.get("device")))

    def to_json(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "Driver": self.driver,
            "CreatedAt": self.created_at,
            "Labels": self.labels,
            "Options": self.options,
            "References": self.references,
            "Populated": self.populated,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VolumeRecord:
        return cls(
            name=str(data["Name"]),
            created_at=str(data.get("CreatedAt") or ""),
            driver=str(data.get("Driver") or LOCAL),
            labels=_strings(data.get("Labels")),
            options=_strings(data.get("Options")),
            references=[str(r) for r in data.get("References") or ()],
            populated=bool(data.get("Populated")),
        )


def _strings(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    return {str(k): str(v) for k, v in dict(value).items()}


def rfc3339(timestamp: float | None = None) -> str:
    moment = datetime.fromtimestamp(int(time.time() if timestamp is None else timestamp), UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def volume_dir(root: Path, name: str) -> Path:
    return root / name


def data_dir(root: Path, name: str) -> Path:
    return root / name / DATA_DIR


def load(root: Path, name: str) -> VolumeRecord | None:
    """The record of volume `name`; None when there is no such volume; a plain one when its file is missing."""
    path = volume_dir(root, name)
    try:
        with open(path / META_FILE, encoding="utf-8") as f:
            record = VolumeRecord.from_json(json.load(f))
    except FileNotFoundError:
        try:
            st = os.stat(path / DATA_DIR)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return VolumeRecord(name, rfc3339(st.st_mtime))
    except (ValueError, KeyError, TypeError):
        # A torn or foreign file: the data is what matters; keep the volume, lose its labels.
        if not (path / DATA_DIR).is_dir():
            return None
        return VolumeRecord(name, rfc3339((path / DATA_DIR).stat().st_mtime))
    record.name = name
    return record


def save(root: Path, record: VolumeRecord, durable: bool = True) -> None:
    """Replace the volume's metadata file atomically (fsync'd unless `durable` is false)."""
    data = json.dumps(record.to_json(), separators=(",", ":")).encode()
    directory = volume_dir(root, record.name)
    write_atomic(directory / META_FILE, data, durable)
    if durable:
        fsync_dir(directory)  # the rename too, so that a volume created survives a host crash


def api_json(root: Path, record: VolumeRecord) -> dict[str, Any]:
    """Docker's Volume object (GET /volumes/{name}, the list, create's answer)."""
    return {
        "CreatedAt": record.created_at,
        "Driver": record.driver,
        "Labels": _sorted(record.labels),
        "Mountpoint": str(data_dir(root, record.name)),
        "Name": record.name,
        "Options": _sorted(record.options),
        "Scope": "local",
    }


def _sorted(mapping: dict[str, str] | None) -> dict[str, str] | None:
    """Go marshals maps in key order."""
    return None if mapping is None else dict(sorted(mapping.items()))
