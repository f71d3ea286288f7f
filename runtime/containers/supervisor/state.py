"""Per-container state files: what a supervisor started after a crash needs to take over.

`<root>/supervisor/<id>.json`, written whole (tmp, rename) at every
change of status, so a file is always one consistent version. It keeps the
spec (cgroup and mount point for delete), the pid with its start time (so
a recycled pid is never adopted) and Docker's state fields.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from runtime.containers.supervisor.protocol import ZERO_TIME

log = logging.getLogger("pycompose.supervisor")
STATUSES = ("created", "running", "exited")


@dataclass
class ContainerRecord:
    id: str
    spec: dict[str, Any]
    pid: int = 0
    pid_start: int = 0  # /proc/<pid>/stat starttime, in clock ticks since boot
    status: str = "created"
    exit_code: int = 0
    oom_killed: bool = False
    started_at: str = ZERO_TIME
    finished_at: str = ZERO_TIME
    log_max_size: int | None = None
    log_max_file: int = 1
    log_driver: str = "json-file"  # "local", or "none": output is read (attach still sees it) but not kept
    log_compress: bool = False  # rotated files gzipped
    log_attrs: dict[str, str] = field(default_factory=dict)  # on every entry (log-opt labels, env, tag)
    stdin_open: bool = False
    stdin_once: bool = False
    tty: bool = False

    def public(self) -> dict[str, Any]:
        """What `state` and `list` answer."""
        return {"id": self.id, "status": self.status, "pid": self.pid if self.status != "exited" else 0,
                "exit_code": self.exit_code, "oom_killed": self.oom_killed, "started_at": self.started_at,
                "finished_at": self.finished_at}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ContainerRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def state_file(directory: Path, container_id: str) -> Path:
    return directory / f"{container_id}.json"


def save(directory: Path, record: ContainerRecord) -> None:
    path = state_file(directory, record.id)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        # No fsync: the file serves re-adoption of live processes after a supervisor restart, which
        # the page cache survives; after a host crash there is nothing left to adopt.
        # The fields are JSON values already: no asdict (a deep copy of the whole spec).
        values = {f.name: getattr(record, f.name) for f in fields(record)}
        os.write(fd, json.dumps(values, separators=(",", ":")).encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def remove(directory: Path, container_id: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        state_file(directory, container_id).unlink()


def load_all(directory: Path) -> list[ContainerRecord]:
    """Every readable record; a damaged file is logged and skipped (never fatal at start-up)."""
    records = []
    for path in sorted(directory.glob("*.json")):
        try:
            records.append(ContainerRecord.from_dict(json.loads(path.read_text())))
        except (OSError, ValueError, TypeError) as exc:
            log.warning("skipping unreadable state file %s: %s", path, exc)
    return records


def process_start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (None if the process is gone): with the pid, a process's identity."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    rest = raw[raw.rfind(b")") + 2 :].split()
    return int(rest[19])
