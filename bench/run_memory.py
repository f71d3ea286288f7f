"""Host memory per idle container for bench/run_bench.py: PSS (smaps_rollup) of every process of ours.

Ours are the engine, its supervisor, and anything else whose command line
names the engine's root; measured before and with idle containers running.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from compose.client.blocking import BlockingClient
from tests.engine_fixture import EngineHandle


def pss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise RuntimeError(f"no Pss in /proc/{pid}/smaps_rollup")


def our_processes(handle: EngineHandle) -> set[int]:
    """The engine, its supervisor, and any other process whose command line names the engine's root."""
    mine = {handle.pid, int((handle.root / "supervisor.pid").read_text())}
    needle = str(handle.root).encode()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if needle in Path(f"/proc/{entry}/cmdline").read_bytes():
                    mine.add(int(entry))
            except OSError:
                continue
    return mine


def bench_memory(handle: EngineHandle, client: BlockingClient, count: int, start: Callable[[], str]) -> dict[str, Any]:
    """PSS of our processes before and with `count` idle containers (each from `start`, which gives its ID)."""
    before_pids = our_processes(handle)
    before = {pid: pss_kib(pid) for pid in before_pids}
    ids = [start() for _ in range(count)]
    time.sleep(1.0)  # let the engine and the supervisor settle (buffers, logs opened)
    after_pids = our_processes(handle)
    after = {pid: pss_kib(pid) for pid in after_pids}
    extra = sorted(after_pids - before_pids)
    for cid in ids:
        client.call("DELETE", f"/containers/{cid}", {"force": True})
    growth = sum(after.values()) - sum(before.values())
    supervisor = int((handle.root / "supervisor.pid").read_text())
    return {
        "containers": count,
        "pss_before_kib": before,
        "pss_after_kib": after,
        "extra_processes": extra,
        "supervisor_growth_kib": after.get(supervisor, 0) - before.get(supervisor, 0),
        "engine_growth_kib": after.get(handle.pid, 0) - before.get(handle.pid, 0),
        "per_container_mib": round(growth / count / 1024, 3),
    }
