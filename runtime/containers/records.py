"""Container records: what the engine knows of each container, on disk and in memory.

A record lives in `root/containers/<id>/config.json`, written whole
(write, rename), so a crash leaves the old record or the new one. The first
write (create) and renames are fsynced; the many state updates of a life
cycle are not: an engine crash keeps the page cache, and a host crash ends
every container anyway, the boot then correcting whatever state is stale.
An fsync costs 3-4 ms, on the event loop, several times per container.
`Records` keeps every record in memory with a name index: names are unique,
Docker's lookup order applies (full id, exact name, unique id prefix).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from runtime.errors import EngineError, bad_request, conflict, not_found
from runtime.store.durable import write_atomic

RECORD_FILE = "config.json"
TRASH = ".del-"
ZERO_TIME = "0001-01-01T00:00:00Z"
NAME_RULE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
STATUSES = ("created", "running", "paused", "restarting", "removing", "exited", "dead")


@dataclass
class State:
    """Docker's ContainerState, kept current by the manager."""

    status: str = "created"
    pid: int = 0
    exit_code: int = 0
    error: str = ""
    oom_killed: bool = False
    started_at: str = ZERO_TIME
    finished_at: str = ZERO_TIME
    health: dict[str, Any] | None = None  # Docker's State.Health (health.py); None without a health check

    @property
    def running(self) -> bool:
        """Docker's `Running`: also true while paused or waiting to restart."""
        return self.status in ("running", "paused", "restarting")

    def docker(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Status": self.status,
            "Running": self.running,
            "Paused": self.status == "paused",
            "Restarting": self.status == "restarting",
            "OOMKilled": self.oom_killed,
            "Dead": self.status == "dead",
            "Pid": self.pid if self.status in ("running", "paused") else 0,
            "ExitCode": self.exit_code,
            "Error": self.error,
            "StartedAt": self.started_at,
            "FinishedAt": self.finished_at,
        }
        if self.health is not None:
            out["Health"] = {**self.health, "Log": list(self.health.get("Log") or [])}
        return out


@dataclass
class Record:
    id: str
    name: str  # without Docker's leading "/"
    created: str  # RFC 3339 with nanoseconds
    image_id: str
    image_name: str
    config: dict[str, Any]  # Docker's ContainerConfig, merged with the image's
    host_config: dict[str, Any]
    spec: dict[str, Any]  # ContainerSpec as JSON data
    path: str = ""
    args: list[str] = field(default_factory=list)
    networking_config: dict[str, Any] = field(default_factory=dict)
    mounts: list[dict[str, Any]] = field(default_factory=list)  # Docker's MountPoint list for inspect
    network_settings: dict[str, Any] = field(default_factory=dict)
    anonymous_volumes: list[str] = field(default_factory=list)  # removed with the container by `rm -v`
    restart_count: int = 0
    state: State = field(default_factory=State)
    log_path: str = ""
    # `docker stop`/`kill`: restart policies stay quiet until the next start.
    manually_stopped: bool = False
    hostname_path: str = ""
    hosts_path: str = ""
    resolv_conf_path: str = ""

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.config.get("Labels") or {})

    @property
    def bundle(self) -> str:
        return str(self.spec["bundle"])

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON data, for writing out at once: it shares the record's values.

        Not `asdict`: its deep copy of config, host config and spec cost
        ~0.8 ms on every save, several saves per container run.
        """
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["state"] = {f.name: getattr(self.state, f.name) for f in fields(self.state)}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["state"] = State(**{k: v for k, v in (data.get("state") or {}).items()
                                   if k in State.__dataclass_fields__})
        return cls(**values)


def normalize_name(name: str) -> str:
    """`/web` or `web` -> `web`; 400 when it breaks Docker's rule."""
    bare = name[1:] if name.startswith("/") else name
    if not NAME_RULE.fullmatch(bare):
        raise bad_request(f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    return bare


def no_such_container(ref: str) -> EngineError:
    return not_found(f"No such container: {ref}")


def name_conflict(name: str, owner: str) -> EngineError:
    return conflict(
        f'Conflict. The container name "/{name}" is already in use by container "{owner}". '
        "You have to remove (or rename) that container to be able to reuse that name."
    )


def new_id(taken: set[str] | dict[str, Any]) -> str:
    """64 hex digits whose short form (12) is not all digits (Docker avoids those)."""
    while True:
        candidate = secrets.token_hex(32)
        if not candidate[:12].isdigit() and candidate not in taken:
            return candidate


class Records:
    """All container records of an engine: on disk under `directory`, indexed in memory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(mode=0o710, parents=True, exist_ok=True)
        self._by_id: dict[str, Record] = {}
        self._names: dict[str, str] = {}

    def load(self) -> list[str]:
        """Read every record; returns problems (unreadable records are skipped, not deleted)."""
        problems = []
        for entry in sorted(os.scandir(self.directory), key=lambda e: e.name):
            if not entry.is_dir(follow_symlinks=False):
                continue
            if entry.name.startswith(TRASH):
                shutil.rmtree(entry.path, ignore_errors=True)
                continue
            path = Path(entry.path) / RECORD_FILE
            try:
                record = Record.from_dict(json.loads(path.read_bytes()))
            except FileNotFoundError:
                # A create that died before its first write: nothing to keep.
                shutil.rmtree(entry.path, ignore_errors=True)
                continue
            except (OSError, ValueError, TypeError, KeyError) as exc:
                problems.append(f"{path}: {exc}")
                continue
            if record.name in self._names:
                problems.append(f"{path}: name {record.name!r} already used by {self._names[record.name]}")
                continue
            self._by_id[record.id] = record
            self._names[record.name] = record.id
        return problems

    def __iter__(self) -> Iterator[Record]:
        return iter(list(self._by_id.values()))

    def __len__(self) -> int:
        return len(self._by_id)

    def ids(self) -> set[str]:
        return set(self._by_id)

    def bundle_dir(self, container_id: str) -> Path:
        return self.directory / container_id

    # names

    def reserve(self, name: str, container_id: str) -> None:
        """Claim `name` for `container_id`; 409 when another container holds it."""
        owner = self._names.get(name)
        if owner is not None and owner != container_id:
            raise name_conflict(name, owner)
        self._names[name] = container_id

    def release(self, name: str, container_id: str) -> None:
        if self._names.get(name) == container_id:
            del self._names[name]

    def generate_name(self) -> str:
        from runtime.containers.names import random_name

        for attempt in range(10):
            name = random_name(attempt)
            if name not in self._names:
                return name
        return f"{random_name(0)}_{secrets.token_hex(3)}"

    # lookups

    def get(self, ref: str) -> Record:
        """Docker's lookup: full id, then exact name, then a unique id prefix."""
        if not ref:
            raise no_such_container(ref)
        record = self._by_id.get(ref)
        if record is not None:
            return record
        name = ref[1:] if ref.startswith("/") else ref
        owner = self._names.get(name)
        if owner is not None and owner in self._by_id:
            return self._by_id[owner]
        matches = [cid for cid in self._by_id if cid.startswith(ref)]
        if len(matches) > 1:
            raise bad_request(f"multiple IDs found with provided prefix: {ref}")
        if matches:
            return self._by_id[matches[0]]
        raise no_such_container(ref)

    def find(self, ref: str) -> Record | None:
        try:
            return self.get(ref)
        except EngineError:
            return None

    # writes

    def add(self, record: Record, *, written: bool = False) -> None:
        """Index a new record; `written`: `write(record)` already put it on disk (from a worker thread)."""
        self.reserve(record.name, record.id)
        self._by_id[record.id] = record
        if not written:
            self.write(record)

    def save(self, record: Record) -> None:
        """A state update (not fsynced: see the module's doc)."""
        self.write(record, durable=False)

    def write(self, record: Record, durable: bool = True) -> None:
        directory = self.bundle_dir(record.id)
        directory.mkdir(mode=0o710, exist_ok=True)
        data = json.dumps(record.to_dict(), separators=(",", ":")).encode()
        write_atomic(directory / RECORD_FILE, data, durable)

    def rename(self, record: Record, new_name: str) -> None:
        self.reserve(new_name, record.id)
        self.release(record.name, record.id)
        record.name = new_name
        self.write(record)

    def forget(self, record: Record) -> Path | None:
        """Drop the record from memory and disk; returns its bundle, moved aside, for the caller to delete."""
        self._by_id.pop(record.id, None)
        self.release(record.name, record.id)
        bundle = self.bundle_dir(record.id)
        # The record file goes first: a crash before the tree is gone leaves
        # a directory without a record, which load() clears.
        (bundle / RECORD_FILE).unlink(missing_ok=True)
        trash = self.directory / f"{TRASH}{record.id}"
        try:
            os.rename(bundle, trash)
        except FileNotFoundError:
            return None
        return trash
