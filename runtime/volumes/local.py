"""The volume store: Docker's `local` driver under `<engine root>/volumes`.

Each volume is `<name>/_data` (what containers mount) beside `<name>/volume.json`
(driver, labels, options, creation time, the containers using it). A volume
with driver options `type`/`device`/`o` gets that device mounted at `_data`
on its first use and unmounted when it is removed. Containers are counted
through `acquire`/`release` (or `for_container`, which acquires as create
asks for mount points); a volume in use cannot be removed or pruned.

Thread-safe: the API calls it from worker threads. Metadata changes hold one
lock; copying an image's content into a volume and deleting a volume's data
happen outside it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.volumes import mounting, populate
from runtime.volumes import records as rec
from runtime.volumes.errors import VolumeDriverNotFound, VolumeFailure, VolumeInUse, VolumeNotFound
from runtime.volumes.filters import Filters, list_predicate, prune_predicate
from runtime.volumes.options import NAME, check_name, check_options, device_mount
from runtime.volumes.records import ANONYMOUS_LABEL, LOCAL, VolumeRecord

log = logging.getLogger("pycompose.volumes")

TRASH = ".trash-"
# Called with (action, volume name, attributes) after a change, in the thread that made it.
Listener = Callable[[str, str, Mapping[str, str]], None]

__all__ = ["ANONYMOUS_LABEL", "ContainerVolumes", "Listener", "VolumeStore"]


class VolumeStore:
    def __init__(self, root: Path, listener: Listener | None = None) -> None:
        self.root = root
        self.listener = listener
        self._lock = threading.RLock()
        self._depth = 0  # how deep the lock is held (it is re-entrant)
        self._events: list[tuple[str, str, dict[str, str]]] = []  # sent once the lock is released
        self._copy_locks: dict[str, threading.Lock] = {}
        root.mkdir(mode=0o701, parents=True, exist_ok=True)
        self._records: dict[str, VolumeRecord] = {}
        for entry in sorted(os.listdir(root)):
            if entry.startswith(TRASH):
                _delete_tree(root / entry)
            elif NAME.fullmatch(entry) and (record := rec.load(root, entry)) is not None:
                self._records[entry] = record

    # -- the API's operations -------------------------------------------------------------------

    def create(self, name: str = "", driver: str = "", driver_opts: Mapping[str, str] | None = None,
               labels: Mapping[str, str] | None = None) -> dict[str, Any]:
        """POST /volumes/create: a new volume, or the existing one of that name as it is."""
        driver = driver or LOCAL
        anonymous = not name
        name = name or self._new_name()
        if driver != LOCAL:
            raise VolumeDriverNotFound(name, driver)
        check_name(name)
        if anonymous:
            labels = {**(labels or {}), ANONYMOUS_LABEL: ""}
        with self._locked():
            record = self._find(name)
            if record is None:
                check_options(name, driver_opts or {})
                record = self._make(name, labels, driver_opts)
            return rec.api_json(self.root, record)

    def inspect(self, name: str) -> dict[str, Any]:
        with self._locked():
            return rec.api_json(self.root, self._get(name))

    def list_volumes(self, filters: Filters | None = None) -> dict[str, Any]:
        """GET /volumes: Docker's VolumeListResponse."""
        keep = list_predicate(filters or {})
        with self._locked():
            found = [rec.api_json(self.root, r) for r in self._all() if keep(r, len(r.references))]
        return {"Volumes": found, "Warnings": []}

    def remove(self, name: str, force: bool = False) -> None:
        """DELETE /volumes/{name}; `force` only makes a missing volume no error (as Docker's purge)."""
        with self._locked():
            record = self._find(name)
            if record is None:
                if force:
                    return
                raise VolumeNotFound(name)
            if record.references:
                raise VolumeInUse(name, record.references)
            trash = self._detach(record)
            self._emit("destroy", name)
        _delete_tree(trash)

    def prune(self, filters: Filters | None = None) -> dict[str, Any]:
        """POST /volumes/prune: unused anonymous volumes (all unused ones with `all=true`)."""
        doomed = prune_predicate(filters or {})
        deleted: list[str] = []
        trashes: list[tuple[Path, int | None]] = []
        with self._locked():
            for record in self._all():
                if not doomed(record, len(record.references)):
                    continue
                # A mounted device's content goes with the unmount: measure it first.
                size = tree_size(rec.data_dir(self.root, record.name)) if record.mounts_device else None
                try:
                    trashes.append((self._detach(record), size))
                except VolumeFailure as exc:
                    log.warning("prune: cannot remove volume %s: %s", record.name, exc)
                    continue
                deleted.append(record.name)
                self._emit("destroy", record.name)
        reclaimed = 0
        for trash, size in trashes:
            reclaimed += size if size is not None else tree_size(trash / rec.DATA_DIR)
            _delete_tree(trash)
        with self._locked():
            self._emit("prune", "", {"reclaimed": str(reclaimed)})
        return {"VolumesDeleted": deleted, "SpaceReclaimed": reclaimed}

    def usage(self) -> list[dict[str, Any]]:
        """The volumes with Docker's UsageData (size, containers using them), for GET /system/df."""
        with self._locked():
            found = [(rec.api_json(self.root, r), len(r.references)) for r in self._all()]
        for volume, users in found:
            size = tree_size(Path(volume["Mountpoint"]))
            volume["UsageData"] = {"Size": size, "RefCount": users}
        return [v for v, _ in found]

    # -- what the container manager uses --------------------------------------------------------

    def mountpoint(self, name: str) -> Path:
        """The host directory of volume `name`: created (no labels) when missing, its device mounted."""
        with self._locked():
            record = self._find(name) or self._make(name)
            self._ensure_mounted(record)
        return rec.data_dir(self.root, name)

    def anonymous(self, container_id: str = "") -> str:
        """A new anonymous volume (64 hex digits, the anonymous label), used by `container_id` if given."""
        with self._locked():
            name = self._new_name()
            self._make(name, {ANONYMOUS_LABEL: ""}, references=[container_id] if container_id else [])
        return name

    def acquire(self, name: str, container_id: str) -> Path:
        """Count `container_id` as a user of `name` (created when missing); its host directory."""
        with self._locked():
            record = self._find(name)
            if record is None:
                record = self._make(name)
            if container_id not in record.references:
                record.references.append(container_id)
                rec.save(self.root, record, durable=False)
            self._ensure_mounted(record)
        return rec.data_dir(self.root, name)

    def release(self, name: str, container_id: str) -> None:
        with self._locked():
            record = self._find(name)
            if record is not None and container_id in record.references:
                record.references.remove(container_id)
                rec.save(self.root, record, durable=False)

    def release_container(self, container_id: str, remove_anonymous: bool = False) -> list[str]:
        """Drop every use by `container_id`; with `remove_anonymous` (docker rm -v) remove its anonymous
        volumes nobody else uses. Returns the names removed; failures are logged, not raised."""
        orphans: list[str] = []
        with self._locked():
            for record in self._all():
                if container_id in record.references:
                    record.references.remove(container_id)
                    rec.save(self.root, record, durable=False)
                    if remove_anonymous and record.anonymous and not record.references:
                        orphans.append(record.name)
        removed = []
        for name in orphans:
            try:
                self.remove(name)
                removed.append(name)
            except (VolumeFailure, VolumeInUse, VolumeNotFound) as exc:
                log.warning("cannot remove anonymous volume %s: %s", name, exc)
        return removed

    def in_use(self, name: str) -> list[str]:
        """The ids of the containers using `name` ([] when it is unused or missing)."""
        with self._locked():
            record = self._find(name)
            return list(record.references) if record is not None else []

    def reconcile(self, uses: Mapping[str, Iterable[str]]) -> None:
        """At boot: the containers' own view (container id -> volume names) replaces the stored counts."""
        users: dict[str, list[str]] = {}
        for container_id, names in uses.items():
            for name in names:
                users.setdefault(name, []).append(container_id)
        with self._locked():
            for record in self._all():
                wanted = sorted(set(users.get(record.name, ())))
                if sorted(record.references) != wanted:
                    record.references = wanted
                    rec.save(self.root, record, durable=False)

    def for_container(self, container_id: str) -> ContainerVolumes:
        """The create step's volume source for one container: every volume it asks for is acquired."""
        return ContainerVolumes(self, container_id)

    def populate_from(self, name: str, source_dir: Path) -> bool:
        """Copy `source_dir`'s content into a volume never found holding data; whether it copied."""
        return self._populate(name, lambda dest: populate.copy_directory(source_dir, dest))

    def populate_from_layers(self, name: str, layers: Sequence[Path], path: str) -> bool:
        """Like populate_from, the source being `path` in an image's layers (lowest first, overlay form)."""
        return self._populate(name, lambda dest: populate.copy_image_path(layers, path, dest))

    # -- inside ---------------------------------------------------------------------------------

    def _populate(self, name: str, copy: Callable[[Path], bool]) -> bool:
        with self._locked():
            record = self._get(name)
            if record.populated:
                return False
            self._ensure_mounted(record)
            guard = self._copy_locks.setdefault(name, threading.Lock())
        dest = rec.data_dir(self.root, name)
        with guard:
            with self._locked():
                if record.populated or self._records.get(name) is not record:
                    return False
            copied = False
            if populate.is_empty(dest):
                try:
                    copied = copy(dest)
                except OSError as exc:
                    raise VolumeFailure(f"copying the image's content into volume {name}: {exc}") from exc
            if copied or not populate.is_empty(dest):
                with self._locked():
                    record.populated = True
                    if self._records.get(name) is record:
                        rec.save(self.root, record, durable=False)
        return copied

    def _new_name(self) -> str:
        while True:
            name = secrets.token_hex(32)
            if not os.path.lexists(self.root / name):
                return name

    def _all(self) -> list[VolumeRecord]:
        return sorted(self._records.values(), key=lambda r: r.name)

    def _find(self, name: str) -> VolumeRecord | None:
        record = self._records.get(name)
        if record is None and NAME.fullmatch(name):
            # A directory made behind our back (by an engine before volumes were tracked): adopt it.
            record = rec.load(self.root, name)
            if record is not None:
                self._records[name] = record
        return record

    def _get(self, name: str) -> VolumeRecord:
        record = self._find(name)
        if record is None:
            raise VolumeNotFound(name)
        return record

    def _make(self, name: str, labels: Mapping[str, str] | None = None,
              options: Mapping[str, str] | None = None, references: list[str] | None = None) -> VolumeRecord:
        check_name(name)
        record = VolumeRecord(name, rec.rfc3339(), labels=None if labels is None else dict(labels),
                              options=None if options is None else dict(options), references=references or [])
        directory = rec.volume_dir(self.root, name)
        try:
            directory.mkdir(mode=0o755, exist_ok=True)
            rec.data_dir(self.root, name).mkdir(mode=0o755, exist_ok=True)
            rec.save(self.root, record)
        except OSError as exc:
            raise VolumeFailure(f"error while creating volume root path '{directory}': {exc}") from exc
        self._records[name] = record
        self._emit("create", name)
        return record

    def _ensure_mounted(self, record: VolumeRecord) -> None:
        """Ready for use: `_data` exists (someone may have deleted it) and the device, if any, is mounted."""
        target = rec.data_dir(self.root, record.name)
        try:
            target.mkdir(mode=0o755, exist_ok=True)
        except OSError as exc:
            raise VolumeFailure(f"error while creating volume root path '{target}': {exc}") from exc
        if not record.mounts_device or record.options is None:
            return
        if mounting.is_mounted(target):
            return
        try:
            mounting.mount_device(target, device_mount(record.options))
        except VolumeFailure as exc:
            raise VolumeFailure(f"error while mounting volume '{target}': {exc.message}") from exc
        self._emit("mount", record.name)

    def _detach(self, record: VolumeRecord) -> Path:
        """Unmount and move the volume out of the way (its name is free at once); the trash path."""
        directory = rec.volume_dir(self.root, record.name)
        if record.mounts_device or mounting.mounts_under(directory):
            mounting.unmount(directory)
        trash = self.root / f"{TRASH}{record.name}-{secrets.token_hex(4)}"
        try:
            os.rename(directory, trash)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise VolumeFailure(f"remove {record.name}: {exc}") from exc
        del self._records[record.name]
        self._copy_locks.pop(record.name, None)
        return trash

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """The store's lock; events queued while it was held go to the listener once it is free."""
        events: list[tuple[str, str, dict[str, str]]] = []
        try:
            with self._lock:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                    if self._depth == 0:
                        events, self._events = self._events, []
        finally:
            self._send(events)

    def _send(self, events: list[tuple[str, str, dict[str, str]]]) -> None:
        listener = self.listener
        if listener is None:
            return
        for action, name, attributes in events:
            try:
                listener(action, name, attributes)
            except Exception:
                log.exception("volume event listener failed")

    def _emit(self, action: str, name: str, attributes: Mapping[str, str] | None = None) -> None:
        """Queue an event (the lock is held): a listener never runs under the store's lock."""
        if self.listener is not None:
            self._events.append((action, name, {"driver": LOCAL, **(attributes or {})}))


@dataclass(frozen=True)
class ContainerVolumes:
    """What container create needs (`mountpoint`, `anonymous`), acquiring each volume for one container."""

    store: VolumeStore
    container_id: str

    def mountpoint(self, name: str) -> Path:
        return self.store.acquire(name, self.container_id)

    def anonymous(self) -> str:
        return self.store.anonymous(self.container_id)


def tree_size(path: Path) -> int:
    """Docker's directory size: apparent sizes of everything but directories, hard links once."""
    total = 0
    seen: set[tuple[int, int]] = set()
    for top, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            try:
                st = os.lstat(os.path.join(top, name))
            except OSError:
                continue
            if name in dirs and not os.path.islink(os.path.join(top, name)):
                continue
            key = (st.st_dev, st.st_ino)
            if st.st_size and key not in seen:
                seen.add(key)
                total += st.st_size
    return total


def _delete_tree(path: Path) -> None:
    """Delete a removed volume's directory, never through a mount (a bind device must survive)."""
    if not os.path.lexists(path):
        return
    left = mounting.mounts_under(path)
    if left:
        log.error("not deleting %s: still mounted: %s", path, ", ".join(left))
        return
    shutil.rmtree(path, ignore_errors=True)
