"""Fixture costs: the wall time of a pytest session that brings a 3-service stack up with `--wait` and down.

The session is examples/pytest (a suite written for pytest-docker: `up --build
--wait`, `port`, three tests, `down -v`) run as a user runs it, three ways:

- `our plugin`: pycompose's pytest plugin alone (`-p no:docker`), the stack
  brought up and down in process through the Python API;
- `pytest-docker + pycompose`: pytest-docker 3 shelling out to our CLI;
- `pytest-docker + docker-compose`: the same over docker-compose (1.29 from
  bench/setup.sh, driving our engine through DOCKER_HOST), when installed;
  a run it refuses (1.29 has no `up --wait`) is marked "refused" with its
  message, never a crash.

Starts a private engine with busybox; each way is timed as the median of
`--runs` sessions after one warm-up session. Needs root. Prints a table and
writes bench/results/fixture_bench.json.

    .venv/bin/python bench/fixture_bench.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import NOT_INSTALLED, PYCOMPOSE, ROOT, private_engine, write_results
from compose.client.blocking import BlockingClient

SUITE = ROOT / "examples" / "pytest"
WAYS: dict[str, tuple[tuple[str, ...], str | None]] = {  # name -> (pytest flags, COMPOSE_COMMAND)
    "our plugin": (("-p", "no:docker"), None),
    "pytest-docker + pycompose": ((), PYCOMPOSE[0]),
    "pytest-docker + docker-compose": ((), "docker-compose"),
}


def session(flags: tuple[str, ...], command: str | None, env: dict[str, str]) -> tuple[float, str | None]:
    """One pytest session's wall time, and why it failed (None when it passed)."""
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(SUITE), *flags,
            str(SUITE)]
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=SUITE, env={**env, **({"COMPOSE_COMMAND": command} if command else {})},
                          capture_output=True, text=True, timeout=600, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:  # pytest-docker's `Command … returned N: """output"""`: the output's first line
        found = re.search(r'returned \d+: """\s*(.*)\n(.*)', done.stdout)
        why = " ".join(found.groups()) if found else f"exit {done.returncode}"
        return elapsed, why[:300]
    return elapsed, None


def clean(client: BlockingClient) -> None:
    """Whatever a refused run left (a peer's half-made stack): containers, then networks and volumes."""
    for c in client.call("GET", "/containers/json", {"all": True}) or []:
        client.call("DELETE", f"/containers/{c['Id']}", {"force": True, "v": True})
    for n in client.call("GET", "/networks") or []:
        if n.get("Name") not in ("bridge", "host", "none"):
            client.call("DELETE", f"/networks/{n['Id']}")
    for v in (client.call("GET", "/volumes") or {}).get("Volumes") or []:
        client.call("DELETE", f"/volumes/{v['Name']}")


def measure(flags: tuple[str, ...], command: str | None, env: dict[str, str], runs: int,
            client: BlockingClient) -> dict[str, Any]:
    if command is not None and shutil.which(command) is None:
        return {"status": NOT_INSTALLED}
    times = []
    for i in range(runs + 1):  # the first is the warm-up
        elapsed, failure = session(flags, command, env)
        if failure is not None:
            clean(client)
            return {"status": "refused", "message": failure}
        if i:
            times.append(elapsed)
    return {"status": "ok", "median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3),
            "runs_s": [round(t, 3) for t in times]}


def table(results: dict[str, Any]) -> str:
    lines = [f"{'pytest session (3 services, up --wait, 3 tests, down)':<58}{'median':>10}{'min':>10}", "-" * 78]
    for way, r in results["ways"].items():
        if r["status"] == "ok":
            lines.append(f"{way:<58}{r['median_s']:>9.2f}s{r['min_s']:>9.2f}s")
        else:
            lines.append(f"{way:<58}{r['status']:>20}" + (f"  ({r['message']})" if r.get("message") else ""))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results/fixture_bench.json")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("fixture_bench: needs root", file=sys.stderr)
        return 1
    results: dict[str, Any] = {"runs": args.runs, "kernel": platform.release(), "python": platform.python_version(),
                               "cpus": os.cpu_count(), "ways": {}}
    with private_engine("pyc-fixture-") as engine:
        try:
            for way, (flags, command) in WAYS.items():
                results["ways"][way] = measure(flags, command, engine.env, args.runs, engine.client)
        finally:
            clean(engine.client)
    print(table(results))
    if not args.no_write:
        write_results("fixture_bench", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
