"""Engine API throughput: requests per second of `GET /containers/json` and of create + delete.

Starts a private engine (own root, socket, prefix) with busybox, creates
`--containers` containers (created, not started) and measures, as the median
of `--runs` rounds after one warm-up round:

- `GET /containers/json?all=1` listing them, one keep-alive connection;
- `POST /containers/create` (`busybox true`) then `DELETE /containers/{id}`:
  pairs per second.

`--engine-repo DIR` also starts an engine from another checkout (an older
commit: `git worktree add --detach /tmp/x <commit>`) and measures the two
round by round, in turn, so that a change is measured before and after under
the same load; the ratio of the medians is printed and kept.

Needs root. Prints a table and writes bench/results/api_bench.json (or `--out`).

    .venv/bin/python bench/api_bench.py [--runs 10] [--containers 100] [--engine-repo DIR]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import RESULTS, ROOT, write_results
from tests import engine_fixture
from tests.compose.cli.engines import stop_supervisor
from tests.runtime.images.busybox import build_busybox_rootfs_tar

LIST_SECONDS = 1.0
CREATE_SECONDS = 2.0


class UnixConnection(http.client.HTTPConnection):
    """http.client over the engine's UNIX socket, kept alive between requests."""

    def __init__(self, path: str) -> None:
        super().__init__("localhost")
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self.path)
        self.sock = sock

    def call(self, method: str, target: str, body: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
        headers = {}
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.request(method, target, body=data, headers=headers)
        response = self.getresponse()
        payload = response.read()
        if response.status >= 400:
            raise RuntimeError(f"{method} {target}: {response.status} {payload[:200]!r}")
        return response.status, json.loads(payload) if payload.strip() else None


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (all their threads) so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def rate(work: Any, seconds: float, pids: list[int]) -> tuple[float, float]:
    """Calls of `work` per second of wall clock over about `seconds`, and per CPU second of `pids`
    (the engine and its supervisor: what other load on the machine does not change)."""
    count, start, cpu = 0, time.perf_counter(), cpu_seconds(pids)
    while (elapsed := time.perf_counter() - start) < seconds:
        work()
        count += 1
    return count / elapsed, count / max(cpu_seconds(pids) - cpu, 1e-3)


def _supervisor(root: Path) -> list[int]:
    try:
        return [int((root / "supervisor.pid").read_text().split()[0])]
    except (OSError, ValueError, IndexError):
        return []


def setup(conn: UnixConnection, where: Path, containers: int) -> None:
    tar = build_busybox_rootfs_tar(where / "busybox.tar")
    conn.call("POST", "/v1.45/images/create?fromSrc=-&repo=busybox&tag=latest", raw=tar.read_bytes())
    tar.unlink()
    for _ in range(containers):
        conn.call("POST", "/v1.45/containers/create", {"Image": "busybox", "Cmd": ["true"]})


def cases(conn: UnixConnection) -> dict[str, Any]:
    def listing() -> None:
        conn.call("GET", "/v1.45/containers/json?all=1")

    def create_delete() -> None:
        _, created = conn.call("POST", "/v1.45/containers/create", {"Image": "busybox", "Cmd": ["true"]})
        conn.call("DELETE", f"/v1.45/containers/{created['Id']}")

    return {"list": (listing, LIST_SECONDS), "create_delete": (create_delete, CREATE_SECONDS)}


def clean(conn: UnixConnection) -> None:
    for c in conn.call("GET", "/v1.45/containers/json?all=1")[1]:
        conn.call("DELETE", f"/v1.45/containers/{c['Id']}?force=1")
    conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--containers", type=int, default=100)
    parser.add_argument("--engine-repo", type=Path, default=None,
                        help="also measure an engine run from this checkout, round by round beside ours")
    parser.add_argument("--out", type=Path, default=RESULTS / "api_bench.json")
    args = parser.parse_args()
    engines = {"this": ROOT} | ({"other": args.engine_repo.resolve()} if args.engine_repo else {})
    rates: dict[str, dict[str, list[float]]] = {e: {"list": [], "create_delete": []} for e in engines}
    per_cpu: dict[str, dict[str, list[float]]] = {e: {"list": [], "create_delete": []} for e in engines}
    pids: dict[str, list[int]] = {}
    with tempfile.TemporaryDirectory(prefix="pyc-api-bench-") as tmp:
        handles, conns = [], {}
        try:
            for label, repo in engines.items():
                engine_fixture.REPO = repo
                handle = engine_fixture.start_private_engine(Path(tmp) / label, log_level="warning")
                handles.append(handle)
                conns[label] = UnixConnection(str(handle.socket))
                setup(conns[label], Path(tmp), args.containers)
                pids[label] = [handle.pid, *_supervisor(handle.root)]
            work = {label: cases(conn) for label, conn in conns.items()}
            for i in range(args.runs + 1):  # round by round, the engines in turn: load drift hits both
                for case in ("list", "create_delete"):
                    for label in engines:
                        call, seconds = work[label][case]
                        measured, cpu = rate(call, seconds, pids[label])
                        if i:  # the first round warms up
                            rates[label][case].append(measured)
                            per_cpu[label][case].append(cpu)
            for conn in conns.values():
                clean(conn)
        finally:
            for handle in handles:
                handle.stop()
                stop_supervisor(handle.root)
    result: dict[str, Any] = {"containers": args.containers, "runs": args.runs, "engines": {}}
    print(f"{'case':<40} {'engine':<24} {'median /s':>10} {'best /s':>9} {'per CPU s':>10}")
    for label, repo in engines.items():
        summary = {case: {"median_per_s": round(statistics.median(vs), 1), "best_per_s": round(max(vs), 1),
                          "per_engine_cpu_s": round(statistics.median(per_cpu[label][case]), 1),
                          "rounds": [round(v, 1) for v in vs]} for case, vs in rates[label].items()}
        result["engines"][label] = {"repo": str(repo), **summary}
        for case, title in (("list", f"GET /containers/json ({args.containers} containers)"),
                            ("create_delete", "POST /containers/create + DELETE")):
            row = summary[case]
            print(f"{title:<40} {str(repo)[-24:]:<24} {row['median_per_s']:>10} {row['best_per_s']:>9} "
                  f"{row['per_engine_cpu_s']:>10}")
    if "other" in engines:
        result["this_vs_other"] = {
            case: {"median_per_s": round(statistics.median(rates["this"][case]) /
                                         statistics.median(rates["other"][case]), 3),
                   "per_engine_cpu_s": round(statistics.median(per_cpu["this"][case]) /
                                             statistics.median(per_cpu["other"][case]), 3)}
            for case in rates["this"]}
        print("this / other:", result["this_vs_other"])
    write_results("api_bench", result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
