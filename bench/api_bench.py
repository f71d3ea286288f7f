"""Engine API throughput: requests per second of `GET /containers/json` and of create + delete.

Starts a private engine (own root, socket, prefix) with busybox, creates
`--containers` containers (created, not started) and measures, as the median
of `--runs` rounds after one warm-up round:

- `GET /containers/json?all=1` listing them, one keep-alive connection;
- `POST /containers/create` (`busybox true`) then `DELETE /containers/{id}`:
  pairs per second.

`--engine-repo DIR` runs the engine from another checkout (the same commit's
bench measuring an older engine: `git worktree add /tmp/x <commit>`), so a
change can be measured before and after on the same machine state.

Needs root. Prints a table and writes bench/results/api_bench.json (or `--out`).

    .venv/bin/python bench/api_bench.py [--runs 5] [--containers 100] [--engine-repo DIR]
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import engine_fixture  # noqa: E402
from tests.runtime.images.busybox import build_busybox_rootfs_tar  # noqa: E402

LIST_SECONDS = 2.0
CREATE_SECONDS = 3.0


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


def rate(work: Any, seconds: float) -> float:
    """Calls of `work` per second over about `seconds`."""
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        work()
        count += 1
    return count / elapsed


def measure(conn: UnixConnection, runs: int) -> dict[str, list[float]]:
    def listing() -> None:
        conn.call("GET", "/v1.45/containers/json?all=1")

    def create_delete() -> None:
        _, created = conn.call("POST", "/v1.45/containers/create", {"Image": "busybox", "Cmd": ["true"]})
        conn.call("DELETE", f"/v1.45/containers/{created['Id']}")

    out: dict[str, list[float]] = {"list": [], "create_delete": []}
    for i in range(runs + 1):
        list_rate, create_rate = rate(listing, LIST_SECONDS), rate(create_delete, CREATE_SECONDS)
        if i:  # the first round warms up
            out["list"].append(list_rate)
            out["create_delete"].append(create_rate)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--containers", type=int, default=100)
    parser.add_argument("--engine-repo", type=Path, default=None, help="run the engine from this checkout")
    parser.add_argument("--label", default="", help="a name for this measurement in the JSON")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "api_bench.json")
    args = parser.parse_args()
    if args.engine_repo is not None:
        engine_fixture.REPO = args.engine_repo.resolve()
    with tempfile.TemporaryDirectory(prefix="pyc-api-bench-") as tmp:
        handle = engine_fixture.start_private_engine(Path(tmp) / "engine", log_level="warning")
        try:
            conn = UnixConnection(str(handle.socket))
            tar = build_busybox_rootfs_tar(Path(tmp) / "busybox.tar")
            conn.call("POST", "/v1.45/images/create?fromSrc=-&repo=busybox&tag=latest", raw=tar.read_bytes())
            for _ in range(args.containers):
                conn.call("POST", "/v1.45/containers/create", {"Image": "busybox", "Cmd": ["true"]})
            rates = measure(conn, args.runs)
            for c in conn.call("GET", "/v1.45/containers/json?all=1")[1]:
                conn.call("DELETE", f"/v1.45/containers/{c['Id']}?force=1")
            conn.close()
        finally:
            handle.stop()
    result = {
        "label": args.label,
        "engine_repo": str(engine_fixture.REPO),
        "containers": args.containers,
        "runs": args.runs,
        "list_per_s": round(statistics.median(rates["list"]), 1),
        "create_delete_per_s": round(statistics.median(rates["create_delete"]), 1),
        "rounds": {k: [round(v, 1) for v in vs] for k, vs in rates.items()},
    }
    print(f"{'case':<40} {'median /s':>10}   rounds")
    print(f"{'GET /containers/json (' + str(args.containers) + ' containers)':<40} "
          f"{result['list_per_s']:>10}   {result['rounds']['list']}")
    print(f"{'POST /containers/create + DELETE':<40} {result['create_delete_per_s']:>10}   "
          f"{result['rounds']['create_delete']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
