"""What the device policy adds to making a container's cgroup, per mode (run as root).

Times `Cgroup.create` + `remove` of one leaf with no device policy, with
Docker's default policy through the v1 devices controller (when mounted),
and through a BPF program on the v2 leaf (when there is a cgroup2 mount),
plus building and loading the program alone. Medians of RUNS; prints a
table and writes bench/results/devices_bench.json.
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import write_results
from runtime.linux import bpf_devices, cgroups, devices
from runtime.linux.cgroups import Cgroup, Mounts
from runtime.spec import Resources

RUNS = 200


def median_ms(fn: Callable[[], None]) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    if os.geteuid() != 0:
        sys.exit("devices_bench: run as root (it makes cgroups and loads BPF programs)")
    prefix = "pycbench" + secrets.token_hex(2)
    m = cgroups.current_mounts()
    without_v1 = Mounts(m.layout, {c: p for c, p in m.v1.items() if c != "devices"}, m.unified)
    policy = devices.policy(False)
    cases: list[tuple[str, Resources, Mounts | None]] = [("no device policy", Resources(), m)]
    cases.append(("v1 devices controller", Resources(devices=policy), m if "devices" in m.v1 else None))
    cases.append(("BPF program on the v2 leaf", Resources(devices=policy), without_v1 if m.unified else None))
    rows: list[tuple[str, float | None]] = []
    try:
        for label, resources, mounts in cases:
            if mounts is None:
                rows.append((label, None))
                continue

            def create_remove(resources: Resources = resources, mounts: Mounts = mounts) -> None:
                Cgroup.create(prefix, "c", resources, mounts).remove()

            rows.append((label, median_ms(create_remove)))
        reduced = devices.effective(policy)
        rows.append(("build + load the program only", median_ms(lambda: os.close(bpf_devices.load(
            bpf_devices.program(reduced))))))
    finally:
        Cgroup.cleanup_prefix(prefix)
    print(f"{'cgroup create + remove':<34} {'median ms':>10}")
    for label, ms in rows:
        print(f"{label:<34} {'not available' if ms is None else f'{ms:.3f}':>10}")
    write_results("devices_bench", {"runs": RUNS, "layout": m.layout, "median_ms": dict(rows)})


if __name__ == "__main__":
    main()
