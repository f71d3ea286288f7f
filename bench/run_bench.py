"""Container run-time costs: exec latency, container births, end to end, host memory per idle container.

Starts a private engine (own root, socket, prefix) with busybox and measures,
as medians of `--runs` runs after two warm-up runs, each beside a baseline
measured in the same run:

- exec of `true` in a running container: `pycompose container exec` (and
  `docker exec` against our engine when docker is installed) against
  `nsenter -a -t PID true` as the floor;
- `unshare -fmuipn true`: namespaces and nothing else;
- our runtime without the CLI or the API: create + start + wait + delete of
  `true` through the SupervisorClient (the engine's path), and
  `birth_once` in this process; both with the engine's own spec for
  `busybox true` (overlay root, Docker's mounts, masks, capabilities,
  seccomp, cgroups), its bundle made beforehand;
- `crun run` of `true` on the same busybox layer (read-only root, the
  namespaces we make), when crun is installed. crun refuses this host's
  hybrid layout (a controller on the v2 mount), so it runs in a private
  mount namespace whose /sys/fs/cgroup/unified is an empty tmpfs: it then
  makes its v1 cgroups as on a v1 host. Its spec has no seccomp filter;
- `pycompose container run --rm busybox true` end to end (and `docker run`),
  as users run it (through the CLI server a first command line leaves
  behind, compose/cli/warm) and with the server off (PYCOMPOSE_CLI_SERVER=0);
- host memory: PSS (smaps_rollup) of every process of ours (engine,
  supervisor, anything else carrying the engine's root) before and with
  `--idle` containers running `sleep`, divided by their number.

A peer (docker, crun) that is missing is "not installed"; one that fails a
case is "not supported" (its message under "not_supported" in the JSON).
Needs root. Prints a table and writes bench/results/run_bench.json.

    .venv/bin/python bench/run_bench.py [--runs 20] [--idle 20]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common
from bench.common import PYCOMPOSE, PrivateEngine, private_engine, run_ms, summary, write_results
from bench.run_memory import bench_memory
from compose.cli.warm.server import wait_for_server
from compose.client.blocking import BlockingClient

# bench/exec_bench.py imports these from here.
import_busybox = common.import_busybox
remove_all = common.remove_containers
GOAL_END_TO_END_MS = 60.0
GOAL_RUNTIME_VS_CRUN = 2.0
GOAL_MIB_PER_IDLE = 0.4
WARMUP = 2
CRUN_DRIVER = r"""
import subprocess, sys, time
subprocess.run(["mount", "-t", "tmpfs", "pyc-bench", "/sys/fs/cgroup/unified"], check=True)
state, bundle = sys.argv[1], sys.argv[2]
for n, _ in enumerate(sys.stdin):
    start = time.perf_counter()
    subprocess.run(["crun", "--root", state, "run", "--bundle", bundle, f"bench{n}"], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    print((time.perf_counter() - start) * 1000, flush=True)
"""

Case = Callable[[], float]  # one run of a case: its milliseconds (set-up and clean-up not counted)


PEERS = ("exec_docker", "end_to_end_docker", "crun")  # cases of other tools: a failure there is theirs


def command(argv: list[str], env: dict[str, str]) -> Case:
    return lambda: run_ms(argv, env)


# -- the engine and its containers ---------------------------------------------------------------


def run_detached(client: BlockingClient, args: list[str], name: str | None = None) -> str:
    created = client.call("POST", "/containers/create", {"name": name}, json={"Image": "busybox", "Cmd": args})
    client.call("POST", f"/containers/{created['Id']}/start")
    return str(created["Id"])


def template_spec(engine: PrivateEngine) -> dict[str, Any]:
    """The spec the engine makes for `busybox true` (read from its record: this is our own engine)."""
    created = engine.client.call("POST", "/containers/create", json={"Image": "busybox", "Cmd": ["true"]})
    record = json.loads((engine.handle.root / "containers" / created["Id"] / "config.json").read_text())
    spec: dict[str, Any] = record["spec"]
    return spec


class Bundles:
    """Copies of the template's bundle under fresh ids, for containers the engine does not know."""

    def __init__(self, template: dict[str, Any], where: Path) -> None:
        self.template, self.where = template, where
        where.mkdir(parents=True, exist_ok=True)

    def fresh(self) -> dict[str, Any]:
        cid = secrets.token_hex(32)
        bundle = self.where / cid[:12]
        old = self.template["bundle"]
        bundle.mkdir()
        for name in ("upper", "work", "rootfs"):
            (bundle / name).mkdir()
        for name in ("hostname", "hosts", "resolv.conf"):
            shutil.copy(Path(old) / name, bundle / name)
        text = json.dumps(self.template).replace(old, str(bundle)).replace(self.template["id"], cid)
        spec: dict[str, Any] = json.loads(text)
        spec["name"] = "bench-" + cid[:8]
        return spec

    def drop(self, spec: dict[str, Any]) -> None:
        shutil.rmtree(spec["bundle"], ignore_errors=True)


# -- the cases -----------------------------------------------------------------------------------


def birth_case(bundles: Bundles) -> Case:
    """birth_once in this process (which has no thread: anyio's loops here start none)."""
    from runtime.containers.supervisor.birth import birth_once
    from runtime.spec import spec_from_dict

    def one() -> float:
        spec = bundles.fresh()
        try:
            start = time.perf_counter()
            code = birth_once(spec_from_dict(spec))
            ms = (time.perf_counter() - start) * 1000
        finally:
            bundles.drop(spec)
        if code != 0:
            raise RuntimeError(f"birth_once: exit {code}")
        return ms

    return one


def supervisor_case(root: Path, bundles: Bundles, phases: dict[str, list[float]]) -> Case:
    """create + start + exit event + delete through the engine's supervisor client; phases go to `phases`."""
    import anyio

    from runtime.containers.supervisor_client import SupervisorClient
    from runtime.spec import spec_from_dict

    async def main() -> float:
        client = await SupervisorClient.connect(root)
        events = await client.subscribe()
        spec = spec_from_dict(bundles.fresh())
        try:
            marks = [time.perf_counter()]
            await client.create(spec, max_size=None, max_file=1, stdin_open=False, tty=False)
            marks.append(time.perf_counter())
            await client.start(spec.id)
            marks.append(time.perf_counter())
            async for event in events:
                if event.get("event") == "exit" and event.get("id") == spec.id:
                    break
            marks.append(time.perf_counter())
            await client.delete(spec.id)
            marks.append(time.perf_counter())
        finally:
            await events.aclose()
            await client.aclose()
            bundles.drop({"bundle": spec.bundle})
        for name, (a, b) in zip(("create", "start", "wait", "delete"), itertools.pairwise(marks), strict=True):
            phases.setdefault(name, []).append((b - a) * 1000)
        return (marks[-1] - marks[0]) * 1000

    return lambda: anyio.run(main)


class Crun:
    """A timing helper in a private mount namespace (see the module's doc) that runs `crun run` on request."""

    def __init__(self, template: dict[str, Any], where: Path, prefix: str) -> None:
        bundle = where / "crun-bundle"
        bundle.mkdir(parents=True)
        subprocess.run(["crun", "spec"], cwd=bundle, check=True)
        config = json.loads((bundle / "config.json").read_text())
        config["root"] = {"path": template["rootfs"]["lowerdirs"][-1], "readonly": True}
        config["process"]["args"] = ["true"]
        config["process"]["terminal"] = False
        config["linux"]["namespaces"].append({"type": "cgroup"})
        config["linux"]["cgroupsPath"] = f"/{prefix}crun"
        (bundle / "config.json").write_text(json.dumps(config))
        self.helper = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", sys.executable, "-c", CRUN_DRIVER,
             str(where / "crun-state"), str(bundle)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def __call__(self) -> float:
        assert self.helper.stdin is not None and self.helper.stdout is not None
        self.helper.stdin.write("run\n")
        self.helper.stdin.flush()
        answer = self.helper.stdout.readline()
        if not answer:
            raise RuntimeError("the crun helper died")
        return float(answer)

    def close(self) -> None:
        if self.helper.stdin is not None:
            self.helper.stdin.close()
        self.helper.wait(10)


# -- report --------------------------------------------------------------------------------------


def ratio(a: dict[str, float] | None, b: dict[str, float] | None) -> float | None:
    if not a or not b:
        return None
    return round(a["median_ms"] / b["median_ms"], 2)


def table(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str, str, str]] = []
    cases = results["cases"]

    def row(label: str, key: str, against: str | None = None, goal: str = "") -> None:
        case = cases.get(key)
        if case is None:
            rows.append((label, "not supported" if key in results["not_supported"] else "not installed", "", "",
                         goal))
            return
        r = ratio(case, cases.get(against)) if against else None
        rows.append((label, f"{case['median_ms']:.1f}", f"{case['min_ms']:.1f}",
                     f"{r:.2f}x {against}" if r is not None else "", goal))

    e2e = cases["end_to_end_cli"]["median_ms"]
    runtime_ratio = ratio(cases["runtime_supervisor"], cases.get("crun"))
    row("exec true: pycompose container exec", "exec_cli", "nsenter")
    row("exec true: docker exec (our engine)", "exec_docker", "nsenter")
    row("exec floor: nsenter -a -t PID true", "nsenter")
    row("unshare -fmuipn true", "unshare")
    row("runtime: supervisor create+start+wait+delete", "runtime_supervisor", "crun",
        f"<= {GOAL_RUNTIME_VS_CRUN:.0f}x crun: "
        + ("n/a" if runtime_ratio is None else "met" if runtime_ratio <= GOAL_RUNTIME_VS_CRUN else "MISSED"))
    row("runtime: birth_once in-process", "runtime_birth_once", "crun")
    row("crun run true (same rootfs)", "crun", "unshare")
    row("end to end: pycompose container run --rm", "end_to_end_cli", "end_to_end_docker",
        f"<= {GOAL_END_TO_END_MS:.0f} ms: " + ("met" if e2e <= GOAL_END_TO_END_MS else "MISSED"))
    row("end to end: the same, no CLI server", "end_to_end_cli_no_server", "end_to_end_docker")
    row("end to end: docker run --rm (our engine)", "end_to_end_docker")
    memory = results["memory"]
    per = memory["per_container_mib"]
    width = max(len(r[0]) for r in rows) + 2
    lines = [f"{'case':<{width}}{'median ms':>10}{'min ms':>9}  {'ratio':<24}goal", "-" * (width + 70)]
    lines += [f"{a:<{width}}{b:>10}{c:>9}  {d:<24}{e}" for a, b, c, d, e in rows]
    lines.append(f"{'memory per idle container (' + str(memory['containers']) + ')':<{width}}"
                 f"{per:>10.3f} MiB{'':<25}<= {GOAL_MIB_PER_IDLE} MiB: "
                 + ("met" if per <= GOAL_MIB_PER_IDLE else "MISSED"))
    lines.append(f"  supervisor +{memory['supervisor_growth_kib']} KiB, engine +{memory['engine_growth_kib']} KiB, "
                 f"other processes of ours: {len(memory['extra_processes'])}")
    phases = results.get("runtime_phases_ms")
    if phases:
        lines.append("  runtime phases (median ms): " + ", ".join(f"{k} {v}" for k, v in phases.items()))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--idle", type=int, default=20)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run_bench: needs root", file=sys.stderr)
        return 1
    cases: dict[str, dict[str, float]] = {}
    results: dict[str, Any] = {"runs": args.runs, "kernel": platform.release(), "python": platform.python_version(),
                               "cases": cases, "not_supported": {}}
    with private_engine("pyc-bench-") as engine:
        work, handle, client, env = engine.work, engine.handle, engine.client, engine.env
        cold = {**env, "PYCOMPOSE_CLI_SERVER": "0"}
        crun: Crun | None = None
        try:
            template = template_spec(engine)
            bundles = Bundles(template, work / "bundles")
            target = run_detached(client, ["sleep", "1000000"], "bench-exec")
            pid = client.call("GET", f"/containers/{target}/json")["State"]["Pid"]
            docker = shutil.which("docker")
            phases: dict[str, list[float]] = {}
            todo: dict[str, Case] = {
                "exec_cli": command([*PYCOMPOSE, "container", "exec", "bench-exec", "true"], env),
                "nsenter": command(["nsenter", "-a", "-t", str(pid), "true"], env),
                "unshare": command(["unshare", "-fmuipn", "true"], env),
                "runtime_supervisor": supervisor_case(handle.root, bundles, phases),
                "runtime_birth_once": birth_case(bundles),
                "end_to_end_cli": command([*PYCOMPOSE, "container", "run", "--rm", "busybox", "true"], env),
                "end_to_end_cli_no_server": command([*PYCOMPOSE, "container", "run", "--rm", "busybox", "true"],
                                                    cold),
            }
            subprocess.run([*PYCOMPOSE, "--help"], env=env, capture_output=True, check=True)
            wait_for_server(str(engine.cli_dir))
            if shutil.which("crun") and shutil.which("unshare"):
                crun = Crun(template, work, handle.prefix)
                todo["crun"] = crun
            if docker:
                todo["exec_docker"] = command([docker, "exec", "bench-exec", "true"], env)
                todo["end_to_end_docker"] = command([docker, "run", "--rm", "busybox", "true"], env)
            for name, times in common.rounds(todo, args.runs, results["not_supported"], PEERS, WARMUP).items():
                cases[name] = summary(times)
            results["runtime_phases_ms"] = {k: round(statistics.median(v[WARMUP:]), 2) for k, v in phases.items()}
            client.call("DELETE", f"/containers/{target}", {"force": True})
            results["memory"] = bench_memory(handle, client, args.idle,
                                             lambda: run_detached(client, ["sleep", "1000000"]))
        finally:
            if crun is not None:
                crun.close()
    print(table(results))
    write_results("run_bench", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
