"""Exec and stats latency: `exec true` through our CLI, the docker CLI and nsenter; `stats --no-stream`.

Starts a private engine with busybox and one running `sleep` container, then
measures, as medians of `--runs` rounds after two warm-up rounds (each round
runs every case once, so load drift hits all alike):

- `pycompose container exec C true` (through the CLI server a first command
  line leaves behind, as users run it);
- `docker exec C true` against our engine (when docker is installed);
- `nsenter -a -t PID true`: the floor, no engine, no API;
- `docker stats --no-stream C` (dockerd's shape: two samples a second
  apart, so about a second is the design, not a cost);
- `GET /containers/C/stats?stream=false&one-shot=true` on one connection:
  the engine's own cost of one sample.

Goal: our CLI's exec <= nsenter + 30 ms. A missing peer is "not installed",
one that fails "not supported". Needs root. Prints a table and writes
bench/results/exec_bench.json.

    .venv/bin/python bench/exec_bench.py [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.run_bench import (  # noqa: E402
    PYCOMPOSE,
    WARMUP,
    Case,
    command,
    import_busybox,
    remove_all,
    run_detached,
    summary,
)
from compose.cli.warm.server import stop_servers, wait_for_server  # noqa: E402
from compose.client.blocking import BlockingClient  # noqa: E402
from tests.engine_fixture import start_private_engine  # noqa: E402

GOAL_OVER_NSENTER_MS = 30.0
PEERS = ("exec_docker", "stats_docker")


def api_case(client: BlockingClient, target: str) -> Case:
    def run() -> float:
        start = time.perf_counter()
        client.call("GET", f"/containers/{target}/stats", {"stream": False, "one-shot": True})
        return (time.perf_counter() - start) * 1000

    return run


def table(results: dict[str, Any]) -> str:
    cases, refused = results["cases"], results["not_supported"]
    floor = cases["nsenter"]["median_ms"]
    labels = {"exec_cli": "exec true: pycompose container exec", "exec_docker": "exec true: docker exec (our engine)",
              "nsenter": "exec floor: nsenter -a -t PID true", "stats_docker": "docker stats --no-stream",
              "stats_api": "GET stats one-shot (API, one connection)"}
    width = max(map(len, labels.values())) + 2
    lines = [f"{'case':<{width}}{'median ms':>10}{'min ms':>9}{'max ms':>9}  over nsenter", "-" * (width + 45)]
    for key, label in labels.items():
        case = cases.get(key)
        if case is None:
            lines.append(f"{label:<{width}}{'not supported' if key in refused else 'not installed':>10}")
            continue
        over = f"+{case['median_ms'] - floor:.1f} ms" if key.startswith("exec") else ""
        lines.append(f"{label:<{width}}{case['median_ms']:>10.1f}{case['min_ms']:>9.1f}{case['max_ms']:>9.1f}  {over}")
    over = cases["exec_cli"]["median_ms"] - floor
    lines.append(f"goal: pycompose exec <= nsenter + {GOAL_OVER_NSENTER_MS:.0f} ms: "
                 + ("met" if over <= GOAL_OVER_NSENTER_MS else "MISSED") + f" (+{over:.1f} ms)")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("exec_bench: needs root", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="pyc-bench-"))
    handle = start_private_engine(work / "engine", log_level="info")
    cli_dir = work / "cli"
    cli_dir.mkdir(mode=0o700)
    env = {**os.environ, **handle.docker_env, "HOME": str(work), "DOCKER_CONFIG": str(work / ".docker"),
           "PYCOMPOSE_CLI_DIR": str(cli_dir)}
    client = BlockingClient(handle.host)
    results: dict[str, Any] = {"runs": args.runs, "kernel": platform.release(), "python": platform.python_version(),
                               "goal_over_nsenter_ms": GOAL_OVER_NSENTER_MS, "not_supported": {}}
    try:
        import_busybox(client, work)
        target = run_detached(client, ["sleep", "1000000"], "bench-exec")
        pid = client.call("GET", f"/containers/{target}/json")["State"]["Pid"]
        todo: dict[str, Case] = {
            "exec_cli": command([*PYCOMPOSE, "container", "exec", "bench-exec", "true"], env),
            "nsenter": command(["nsenter", "-a", "-t", str(pid), "true"], env),
            "stats_api": api_case(client, target),
        }
        subprocess.run([*PYCOMPOSE, "--help"], env=env, capture_output=True, check=True)
        wait_for_server(str(cli_dir))
        docker = shutil.which("docker")
        if docker:
            todo["exec_docker"] = command([docker, "exec", "bench-exec", "true"], env)
            todo["stats_docker"] = command([docker, "stats", "--no-stream", "bench-exec"], env)
        times = common.rounds(todo, args.runs, results["not_supported"], PEERS, WARMUP)
        results["cases"] = {name: summary(t) for name, t in times.items()}
        results["exec_cli_over_nsenter_ms"] = round(
            results["cases"]["exec_cli"]["median_ms"] - results["cases"]["nsenter"]["median_ms"], 2)
    finally:
        try:
            remove_all(client)
        finally:
            handle.stop()
            stop_servers(str(cli_dir))
            shutil.rmtree(work, ignore_errors=True)
    print(table(results))
    out = ROOT / "bench" / "results" / "exec_bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
