"""What the API reads of the containers: list, inspect, counts for /info, and prune.

Functions over the container table; nothing here changes a container
except `prune`, which removes through the `remove` it is given (the manager's).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from runtime.containers import container_json
from runtime.containers.logs_read import parse_time_ns
from runtime.errors import EngineError, bad_request
from runtime.filters import match_labels

if TYPE_CHECKING:
    from runtime.containers.records import Record
    from runtime.containers.table import ContainerTable


def counts(table: ContainerTable) -> dict[str, int]:
    records = list(table.records)
    running = sum(1 for r in records if r.state.status in ("running", "restarting"))
    paused = sum(1 for r in records if r.state.status == "paused")
    return {"Containers": len(records), "ContainersRunning": running, "ContainersPaused": paused,
            "ContainersStopped": len(records) - running - paused}


def inspect(table: ContainerTable, ref: str, size: bool = False) -> dict[str, Any]:
    record = table.records.get(ref)
    doc = container_json.inspect(record, table.execs.running_ids(record.id))
    if table.live(record).api_restart:
        doc["State"]["Restarting"] = True
    if size:
        doc["SizeRw"] = tree_size(upper_dir(record))
        doc["SizeRootFs"] = doc["SizeRw"] + sum(tree_size(d) for d in record.spec["rootfs"]["lowerdirs"])
    return doc


def list_containers(table: ContainerTable, all_: bool, filters: Mapping[str, Sequence[str]], limit: int,
                    image_ids: Mapping[str, str], size: bool = False) -> list[dict[str, Any]]:
    """`GET /containers/json`: newest first; only running ones unless `all` (or a status/exited filter)."""
    container_json.check_list_filters(filters)
    records = sorted(table.records, key=lambda r: r.created, reverse=True)
    show_all = all_ or limit > 0 or "status" in filters or "exited" in filters
    before = [table.records.get(ref).created for ref in filters.get("before", ())]
    since = [table.records.get(ref).created for ref in filters.get("since", ())]
    out = []
    now = time.time()
    for record in records:
        if not show_all and not record.state.running:
            continue
        if any(record.created >= b for b in before) or any(record.created <= s for s in since):
            continue
        if container_json.matches(record, filters, image_ids):
            item = container_json.summary(record, now)
            if size:
                item["SizeRw"] = tree_size(upper_dir(record))
            out.append(item)
    return out[:limit] if limit > 0 else out


async def prune(table: ContainerTable, filters: Mapping[str, Sequence[str]],
                remove: Callable[[str], Awaitable[None]]) -> dict[str, Any]:
    """`POST /containers/prune`: remove stopped containers (filters until, label, label!)."""
    from runtime.images.filters import parse_until

    for key in filters:
        if key not in ("until", "label", "label!"):
            raise bad_request(f"invalid filter '{key}'")
    now = time.time()
    until = min((parse_until(v, now) for v in filters.get("until", ())), default=None)
    deleted, reclaimed = [], 0
    for record in table.records:
        if record.state.running or record.state.status == "removing":
            continue
        if not match_labels(filters, record.labels):
            continue
        if until is not None and parse_time_ns(record.created) / 1e9 >= until:
            continue
        size = await anyio.to_thread.run_sync(tree_size, upper_dir(record))
        with contextlib.suppress(EngineError):
            await remove(record.id)
            deleted.append(record.id)
            reclaimed += size
    table.events.emit("container", "prune", "", {"reclaimed": str(reclaimed)})
    return {"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed}


def upper_dir(record: Record) -> str:
    return str(record.spec["rootfs"]["upperdir"])


def tree_size(path: str) -> int:
    """Bytes in the files under `path` (what `docker ps -s` calls the writable layer's size)."""
    total = 0
    for directory, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(directory, name)).st_size
    return total
