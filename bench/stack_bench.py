"""Stack costs: `up -d` and `down` of whole projects, health-check chains, and `down` of stubborn processes.

Starts a private engine (own root, socket, prefix), imports busybox, writes
the compose files into a temporary directory and times, as medians of
`--runs` runs after one warm-up run (`--health-runs` for the two health
chains), each with docker-compose and podman-compose too (bench/setup.sh
installs them; else "not installed"; a case a peer refuses, as docker-compose
1.29 does `start_interval`, is "not supported", its message in the JSON):

- `up -d` until every container runs, and `down`, for 1, 10 and 50 services
  (busybox `sleep`, `init: true`, no healthcheck);
- `up -d` of a chain: s00, then s01…s10 each `depends_on` the previous one
  with `condition: service_healthy` (healthcheck `CMD true`, interval 1s,
  so ten health waits: the floor is 10 s); and the same with
  `start_interval: 100ms` (Docker applies it only during the start period,
  so that variant also sets `start_period: 30s`);
- `down` of 10 services that ignore SIGTERM with `stop_grace_period: 2s`
  (the floor is one grace period: stops run in parallel).

Ours is measured twice: as users run it (the first command line leaves a
CLI server behind, compose/cli/warm, which the warm-up run absorbs) and,
for 1 and 10 services, with the server turned off (`no CLI server`: what
every command line cost before, and what a first one costs).

Each time is also given as a ratio to a baseline measured in the same run
(`python -c pass`, the cost of starting any Python CLI). The reference
numbers docker-compose 1.29 and podman-compose 1.6 gave on a machine of this
kind (issue 6) are printed beside ours. Needs root. Prints a table and writes
bench/results/stack_bench.json. podman runs with bench/podman-containers.conf
(unless CONTAINERS_CONF is set) on a busybox imported into its own store.

    .venv/bin/python bench/stack_bench.py [--runs 5] [--health-runs 3] [--only up_1,down_1,...]
    .venv/bin/python bench/stack_bench.py --runs 1 --health-runs 1    # the quickest full table
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PODMAN_CONF, PYCOMPOSE, busybox_tar, private_engine, summary, write_results
from compose.client.blocking import BlockingClient

TOOLS = {"pycompose": PYCOMPOSE, "no CLI server": PYCOMPOSE, "docker-compose": ["docker-compose"],
         "podman-compose": ["podman-compose"]}
# Ours again with the CLI server turned off: what a first command line (or PYCOMPOSE_CLI_SERVER=0) costs.
TOOL_ENV = {"no CLI server": {"PYCOMPOSE_CLI_SERVER": "0"}}
TOOL_CASES = {"no CLI server": {"up_1", "down_1", "up_10", "down_10"}}
OURS = ("pycompose", "no CLI server")
SIZES = (1, 10, 50)
CHAIN = 10
SLOW = 10
# case -> (goal in ms, docker-compose 1.29 ms, podman-compose 1.6 ms), as issue 6 gives them.
GOALS: dict[str, tuple[float, float | None, float | None]] = {
    "up_1": (150, 870, 540),
    "down_1": (150, 800, 540),
    "up_10": (400, 2450, 2640),
    "down_10": (300, 1520, 1630),
    "up_50": (1500, 9060, 11960),
    "down_50": (1000, 4830, 6380),
    "health_chain": (10500, 13700, None),
    "health_chain_start_interval": (2000, None, None),
    "slow_down": (2300, 3500, None),
}
LABELS = {
    "up_1": "up -d, 1 service",
    "down_1": "down, 1 service",
    "up_10": "up -d, 10 services",
    "down_10": "down, 10 services",
    "up_50": "up -d, 50 services",
    "down_50": "down, 50 services",
    "health_chain": f"up -d, chain of {CHAIN} service_healthy (interval 1s)",
    "health_chain_start_interval": f"up -d, chain of {CHAIN}, start_interval 100ms",
    "slow_down": f"down, {SLOW} services ignoring SIGTERM (grace 2s)",
}


# -- compose files -------------------------------------------------------------------------------


def _service(lines: list[str], name: str, command: str, extra: tuple[str, ...] = ()) -> None:
    lines += [f"  {name}:", "    image: busybox", f"    command: {command}", "    init: true", *extra]


def sleepers(count: int) -> str:
    lines = ["services:"]
    for i in range(count):
        _service(lines, f"s{i:02d}", '["sleep", "1000000"]')
    return "\n".join(lines) + "\n"


def health_chain(length: int, start_interval: bool) -> str:
    check = ["    healthcheck:", '      test: ["CMD", "true"]', "      interval: 1s"]
    if start_interval:
        check += ["      start_period: 30s", "      start_interval: 100ms"]
    lines = ["services:"]
    for i in range(length + 1):
        deps = [] if i == 0 else ["    depends_on:", f"      s{i - 1:02d}:", "        condition: service_healthy"]
        _service(lines, f"s{i:02d}", '["sleep", "1000000"]', (*check, *deps))
    return "\n".join(lines) + "\n"


def stubborn(count: int) -> str:
    lines = ["services:"]
    for i in range(count):
        # An ignored signal stays ignored across exec: sleep never sees SIGTERM.
        _service(lines, f"s{i:02d}", """["sh", "-c", "trap '' TERM; exec sleep 1000000"]""",
                 ("    stop_grace_period: 2s",))
    return "\n".join(lines) + "\n"


# -- running a tool ------------------------------------------------------------------------------


class Failed(RuntimeError):
    """A command of the bench failed: ours is a bug (the bench stops), a peer's is a case it does not support."""


@dataclass
class Stack:
    """One compose file and project name, driven by one tool."""

    tool: list[str]
    file: Path
    project: str
    env: dict[str, str]

    def run(self, *args: str) -> float:
        argv = [*self.tool, "-f", str(self.file), "-p", self.project, *args]
        start = time.perf_counter()
        done = subprocess.run(argv, env=self.env, cwd=self.file.parent, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        ms = (time.perf_counter() - start) * 1000
        if done.returncode != 0:
            said = dict.fromkeys(line.strip() for line in done.stderr.decode(errors="replace").splitlines())
            raise Failed(f"{' '.join(args)}: exit {done.returncode}: {' / '.join(s for s in said if s)[:400]}")
        return ms

    def up(self) -> float:
        return self.run("up", "-d")

    def down(self) -> float:
        return self.run("down")


def baseline(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        times.append((time.perf_counter() - start) * 1000)
    return times[1:]


States = Callable[[str], list[str]]  # the states of a project's containers, on the engine its tool drives


def engine_states(client: BlockingClient) -> States:
    def states(project: str) -> list[str]:
        filters = json.dumps({"label": [f"com.docker.compose.project={project}"]})
        return [c["State"] for c in client.call("GET", "/containers/json", {"all": True, "filters": filters}) or []]

    return states


def podman_states(env: dict[str, str]) -> States:
    def states(project: str) -> list[str]:
        done = subprocess.run(["podman", "ps", "-a", "--filter", f"label=com.docker.compose.project={project}",
                               "--format", "json"], env=env, capture_output=True, text=True, check=False)
        return [c["State"] for c in json.loads(done.stdout or "[]")]

    return states


def remove_leftovers(tool: str, client: BlockingClient, env: dict[str, str], project: str) -> None:
    """What a failed peer left of `project` on the engine it drives, removed by force."""
    label = f"com.docker.compose.project={project}"
    if tool == "podman-compose":
        ids = subprocess.run(["podman", "ps", "-aq", "--filter", f"label={label}"], env=env, capture_output=True,
                             text=True, check=False).stdout.split()
        subprocess.run(["podman", "rm", "-f", *ids], env=env, capture_output=True, check=False)
        return
    for c in client.call("GET", "/containers/json", {"all": True, "filters": json.dumps({"label": [label]})}) or []:
        client.call("DELETE", f"/containers/{c['Id']}", {"force": True})


def check_running(states: States, project: str, count: int) -> None:
    """After `up -d`: every container of the project runs."""
    found = states(project)
    if found.count("running") != count:
        raise Failed(f"{project}: {found.count('running')} of {count} running after up -d: {sorted(found)}")


def check_gone(states: States, project: str) -> None:
    if found := states(project):
        raise Failed(f"{project}: {len(found)} containers left after down")


def measure(stack: Stack, states: States, cases: list[str], runs: int,
            health_runs: int, count: int) -> dict[str, list[float]]:
    """Times of the `cases` this stack serves (up_N/down_N, a chain's up, a slow down); one warm-up run."""
    out: dict[str, list[float]] = {case: [] for case in cases}
    up_case = next((c for c in cases if not c.startswith("down") and c != "slow_down"), None)
    down_case = next((c for c in cases if c.startswith("down") or c == "slow_down"), None)
    n = health_runs if up_case and up_case.startswith("health") else runs
    for i in range(n + 1):
        up_ms = stack.up()
        check_running(states, stack.project, count)
        down_ms = stack.down()
        check_gone(states, stack.project)
        if i == 0:
            continue
        if up_case:
            out[up_case].append(up_ms)
        if down_case:
            out[down_case].append(down_ms)
    return out


# -- report --------------------------------------------------------------------------------------


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def table(results: dict[str, Any]) -> str:
    base = results["baseline"]["python_c_pass"]["median_ms"]
    tools = results["tools"]
    others = [t for t in TOOLS if t != "pycompose"]
    head = (f"{'case':<50}{'ours':>10}{'min':>10}{'x python':>10}{'goal':>10}{'':>8}"
            + "".join(f"{t:>16}" for t in others) + f"{'dc 1.29 ref':>13}{'pc 1.6 ref':>12}")
    lines = [head, "-" * len(head)]
    for case, (goal, dc_ref, pc_ref) in GOALS.items():
        ours = tools["pycompose"].get(case)
        if ours is None:
            continue
        verdict = "met" if ours["median_ms"] <= goal else "MISSED"
        cells = []
        for tool in others:
            theirs = tools.get(tool)
            got = {} if theirs is None else theirs.get(case, {})
            cells.append("not installed" if theirs is None else "not supported" if "not_supported" in got
                         else _cell(got.get("median_ms")))
        lines.append(f"{LABELS[case]:<50}{_cell(ours['median_ms']):>10}{_cell(ours['min_ms']):>10}"
                     f"{ours['median_ms'] / base:>9.1f}x{_cell(goal):>10}{verdict:>8}"
                     + "".join(f"{c:>16}" for c in cells) + f"{_cell(dc_ref):>13}{_cell(pc_ref):>12}")
    b = results["baseline"]
    lines.append(f"baseline: python -c pass {b['python_c_pass']['median_ms']:.1f} ms, "
                 f"unshare -fmuipn true {b['unshare']['median_ms']:.1f} ms"
                 if "unshare" in b else f"baseline: python -c pass {base:.1f} ms")
    return "\n".join(lines)


def plan_cases(only: set[str] | None) -> list[tuple[str, list[str], int]]:
    """(file text, cases it serves, containers it runs) for every compose file of the run."""
    files: list[tuple[str, list[str], int]] = [(sleepers(n), [f"up_{n}", f"down_{n}"], n) for n in SIZES]
    files.append((health_chain(CHAIN, False), ["health_chain"], CHAIN + 1))
    files.append((health_chain(CHAIN, True), ["health_chain_start_interval"], CHAIN + 1))
    files.append((stubborn(SLOW), ["slow_down"], SLOW))
    if only is not None:
        files = [(text, [c for c in cases if c in only], n) for text, cases, n in files]
        files = [f for f in files if f[1]]
    return files


def peer_env(tool: str, env: dict[str, str]) -> dict[str, str]:
    """podman on this machine needs bench/podman-containers.conf, unless the user gives a configuration."""
    if tool == "podman-compose" and "CONTAINERS_CONF" not in env:
        return {**env, "CONTAINERS_CONF": str(PODMAN_CONF)}
    return env


def podman_busybox(tar: Path, env: dict[str, str]) -> str | None:
    """busybox:latest in podman's own store (podman-compose runs there); None, or why not."""
    done = subprocess.run(["podman", "import", "--change", 'CMD ["sh"]', str(tar), "docker.io/library/busybox:latest"],
                          env=peer_env("podman-compose", env), capture_output=True, text=True, check=False)
    return None if done.returncode == 0 else f"podman import: exit {done.returncode}: {done.stderr.strip()}"


def run_tool(tool: str, argv: list[str], work: Path, env: dict[str, str], client: BlockingClient,
             only: set[str] | None, args: argparse.Namespace, broken: str | None) -> dict[str, Any]:
    """{case: summary, or {"not_supported": the peer's message}} for one tool over every compose file."""
    # docker-compose drives our engine too; podman-compose drives podman.
    env = peer_env(tool, {**env, **TOOL_ENV.get(tool, {})})
    states = podman_states(env) if tool == "podman-compose" else engine_states(client)
    out: dict[str, Any] = {}
    wanted = TOOL_CASES.get(tool)
    chosen = only if wanted is None else (only or wanted) & wanted
    for k, (text, cases, count) in enumerate(plan_cases(chosen)):
        folder = work / f"{tool.replace(' ', '-')}-{k}"
        folder.mkdir()
        (folder / "compose.yaml").write_text(text)
        stack = Stack(argv, folder / "compose.yaml", f"bench{k}", env)
        print(f"{tool}: {', '.join(cases)}", file=sys.stderr, flush=True)
        try:
            if broken is not None:
                raise Failed(broken)
            out.update({case: summary(t) for case, t in
                        measure(stack, states, cases, args.runs, args.health_runs, count).items()})
        except Failed as exc:
            if tool in OURS:
                raise
            message = str(exc)
            print(f"{tool}: not supported: {message}", file=sys.stderr, flush=True)
            out.update({case: {"not_supported": message} for case in cases})
            with contextlib.suppress(Failed):
                stack.down()
            remove_leftovers(tool, client, env, stack.project)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--health-runs", type=int, default=3)
    parser.add_argument("--only", default=None, help="comma-separated case names (default: all)")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results/stack_bench.json")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("stack_bench: needs root", file=sys.stderr)
        return 1
    only = set(args.only.split(",")) if args.only else None
    results: dict[str, Any] = {"runs": args.runs, "health_runs": args.health_runs, "kernel": platform.release(),
                               "python": platform.python_version(), "cpus": os.cpu_count(), "tools": {},
                               "reference": {k: {"goal_ms": g, "docker_compose_1_29_ms": d, "podman_compose_1_6_ms": p}
                                             for k, (g, d, p) in GOALS.items()}}
    podman = shutil.which("podman-compose") and shutil.which("podman")
    with private_engine("pyc-stack-") as engine:
        work, client, env = engine.work, engine.client, engine.env
        try:
            tar = busybox_tar(work / "busybox.tar")
            no_podman = podman_busybox(tar, env) if podman else None
            tar.unlink()
            results["baseline"] = {"python_c_pass": summary(baseline([sys.executable, "-c", "pass"], 20))}
            if shutil.which("unshare"):
                results["baseline"]["unshare"] = summary(baseline(["unshare", "-fmuipn", "true"], 20))
            for tool, argv in TOOLS.items():
                if shutil.which(argv[0]) is None:
                    results["tools"][tool] = None
                    continue
                broken = no_podman if tool == "podman-compose" else None
                results["tools"][tool] = run_tool(tool, argv, work, env, client, only, args, broken)
        finally:
            if podman:
                subprocess.run(["podman", "rmi", "-f", "docker.io/library/busybox:latest"], capture_output=True,
                               env=peer_env("podman-compose", env), check=False)
    print(table(results))
    if not args.no_write:
        write_results("stack_bench", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
