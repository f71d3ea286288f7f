"""Build costs: a cold 3-stage build, the same rebuilt unchanged, and rebuilt after a one-line change.

The context (made in a temporary folder, the same for every peer) holds a
Dockerfile of 3 stages (two independent ones, then a final stage from the
first that copies from the second), 10 RUN steps in all, and `app/`:
2,000 small text files and a 50 MB file of random bytes, which the final stage
takes in ONE `COPY app/ /app/` followed by 4 RUN steps and 2 metadata steps.
For each peer, on a store of its own that starts with busybox only:

- cold: the first build (the base image is there, nothing else);
- unchanged: the same build again, `--rebuilds` times (median), every step from the cache;
- one-line change: a line of app/src/f0042.txt changed (a new text each time), built
  `--rebuilds` times (median): the steps from `COPY app/ /app/` on run again, nothing before.

Peers: ours (the docker CLI against a private engine of ours: its classic
builder, as /_ping says), `podman build --layers` on a storage root of its own
(--root/--runroot in a temporary folder; podman reads the context folder
itself: no tar is sent) and `docker build` against a private dockerd (its
classic builder; own data root, exec root, socket, cgroup parent; no bridge of
its own, no iptables) when installed. Missing ones are "not installed"; one that
fails is "not supported" with its message; a failure of ours stops the bench.

Each build's output is read line by line as it comes, with a timestamp: a step
lasts from its `Step N/M` line to the next, so the table gives the time before
the first step (the context sent and unpacked), the steps, and, per step, the
cold build of each peer. Goals, printed met / MISSED: cold build <= podman's;
unchanged rebuild <= 0.3 s; one-line change <= the time the invalidated steps
took in our cold build + 0.3 s. The cache is checked too (which steps came
from it). The floor of any engine is measured too: `docker build` against a
server in this process that reads the context and answers at once.
Needs root. Prints the tables and writes bench/results/build_bench.json.
The case itself (context, Dockerfile, timing of one build) is bench/build_case.py.

`--profile`: in the first run our engine and its supervisor sample themselves
(bench/sampler.py, every thread); the busy time per case by function is printed
and kept in the JSON, the raw stacks in bench/results/build_profile/.

    .venv/bin/python bench/build_bench.py [--runs 1] [--rebuilds 3] [--peers ours,podman,docker] [--profile]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import sampler
from bench.build_case import (
    BIG_MB,
    CHANGED,
    DOCKERFILE,
    FIRST_INVALIDATED,
    INSTRUCTIONS,
    SMALL_FILES,
    TAG,
    Changes,
    build,
    cache_faults,
    invalidated_seconds,
    make_context,
    null_engine,
)
from bench.common import (
    NOT_INSTALLED,
    NOT_SUPPORTED,
    RESULTS,
    Podman,
    Refused,
    busybox_tar,
    dockerd_missing,
    format_table,
    installed,
    private_dockerd,
    private_engine,
    summary,
    write_results,
)

GOAL_UNCHANGED_S = 0.3
GOAL_SLACK_S = 0.3
PEERS = ("ours", "podman", "docker")


# -- the peers -----------------------------------------------------------------------------------

Store = Callable[[Path, Path], Any]  # (work folder, busybox tar) -> context manager of (argv prefix, env)
PROFILE = RESULTS / "build_profile"  # ours' samples (bench/sampler.py) with --profile


@contextmanager
def ours_store(work: Path, busybox: Path) -> Iterator[tuple[list[str], dict[str, str]]]:
    with private_engine("pyc-build-bench-", log_level="warning") as engine:
        yield ["docker", "build", "-t", TAG], engine.env


@contextmanager
def profiled(work: Path) -> Iterator[Path]:
    """Our engine and supervisor, started meanwhile, sample themselves (bench/sampler.py) into PROFILE/run.<pid>."""
    shutil.rmtree(PROFILE, ignore_errors=True)
    PROFILE.mkdir(parents=True)
    out = PROFILE / "run"
    saved = dict(os.environ)
    os.environ.update(sampler.environment(work / "sampler-site", out))
    try:
        yield out
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def podman_store(work: Path, busybox: Path) -> Iterator[tuple[list[str], dict[str, str]]]:
    podman = Podman(work)
    try:
        podman.import_busybox(busybox)
        yield [*podman.argv, "build", "--layers", "-t", TAG], podman.env
    finally:
        podman.close()


@contextmanager
def docker_store(work: Path, busybox: Path) -> Iterator[tuple[list[str], dict[str, str]]]:
    with private_dockerd(work / "dockerd", busybox=busybox) as daemon:
        yield ["docker", "build", "-t", TAG], daemon.env


STORES: dict[str, Store] = {"ours": ours_store, "podman": podman_store, "docker": docker_store}


def profile_report(out: Path) -> dict[str, Any]:
    """Per case, where our engine's threads spent their time (the files stay in PROFILE)."""
    files = sorted(out.parent.glob(f"{out.name}.[0-9]*"))
    return {phase: sampler.report(files, phase, top=15) for phase in ("cold", "unchanged", "changed")}


def missing(peer: str) -> str | None:
    if peer == "ours":
        return None if installed("docker") else "the docker CLI is not installed (scripts/setup.sh installs it)"
    if peer == "podman":
        return None if installed("podman") else NOT_INSTALLED
    return dockerd_missing()


def sequence(peer: str, context: Path, work: Path, busybox: Path, rebuilds: int,
             phase: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Cold, unchanged (rebuilds), one-line change (rebuilds) on a fresh store of the peer's; `phase` is told
    which case runs."""
    changes = Changes(context)
    changes.restore()
    with STORES[peer](work, busybox) as (argv, env):
        command = [*argv, str(context)]
        print(f"{peer}: cold build", file=sys.stderr, flush=True)
        phase("cold")
        cold = build(command, env)
        phase("unchanged")
        unchanged = [build(command, env) for _ in range(rebuilds)]
        print(f"{peer}: unchanged and changed rebuilds", file=sys.stderr, flush=True)
        changed = []
        for _ in range(rebuilds):
            changes.next()
            phase("changed")
            changed.append(build(command, env))
            phase("-")
    changes.restore()
    faults = [f"stream out of order: {b.disorder}" for b in (cold, *unchanged, *changed) if b.disorder]
    faults += [f"unchanged: {f}" for b in unchanged for f in cache_faults(b, None)]
    faults += [f"one-line change: {f}" for b in changed for f in cache_faults(b, FIRST_INVALIDATED)]
    return {"cold": cold, "unchanged": unchanged, "changed": changed, "cache_faults": sorted(set(faults))}


# -- report --------------------------------------------------------------------------------------


def aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """A peer's runs as summaries (seconds) plus every build's detail."""
    colds = [r["cold"] for r in runs]
    unchanged = [b for r in runs for b in r["unchanged"]]
    changed = [b for r in runs for b in r["changed"]]
    return {
        "status": "ok",
        "cold_s": summary([b.seconds for b in colds], "s", 3),
        "unchanged_s": summary([b.seconds for b in unchanged], "s", 3),
        "changed_s": summary([b.seconds for b in changed], "s", 3),
        "invalidated_cold_s": round(statistics.median(invalidated_seconds(b) for b in colds), 3),
        "before_steps_s": {"cold": round(statistics.median(b.before_steps for b in colds), 3),
                           "unchanged": round(statistics.median(b.before_steps for b in unchanged), 3),
                           "changed": round(statistics.median(b.before_steps for b in changed), 3)},
        "after_steps_s": {"cold": round(statistics.median(b.after_steps for b in colds), 3),
                          "unchanged": round(statistics.median(b.after_steps for b in unchanged), 3),
                          "changed": round(statistics.median(b.after_steps for b in changed), 3)},
        "cache_faults": sorted({f for r in runs for f in r["cache_faults"]}),
        "builds": {"cold": [asdict(b) for b in colds], "unchanged": [asdict(b) for b in unchanged],
                   "changed": [asdict(b) for b in changed]},
    }


def goals(peers: dict[str, Any]) -> list[dict[str, Any]]:
    ours, podman = peers.get("ours", {}), peers.get("podman", {})
    out: list[dict[str, Any]] = []

    def goal(name: str, value: float | None, limit: float | None, text: str) -> None:
        met = None if value is None or limit is None else value <= limit
        out.append({"goal": name, "value_s": value, "limit_s": limit, "met": met, "text": text})

    ok = ours.get("status") == "ok"
    podman_cold = podman["cold_s"]["median_s"] if podman.get("status") == "ok" else None
    goal("cold <= podman", ours["cold_s"]["median_s"] if ok else None, podman_cold,
         "cold build <= podman's" + ("" if podman_cold is not None else f" (podman {podman.get('status', 'n/a')})"))
    goal("unchanged <= 0.3 s", ours["unchanged_s"]["median_s"] if ok else None, GOAL_UNCHANGED_S,
         f"unchanged rebuild <= {GOAL_UNCHANGED_S} s")
    limit = round(ours["invalidated_cold_s"] + GOAL_SLACK_S, 3) if ok else None
    goal("one-line change <= invalidated + 0.3 s", ours["changed_s"]["median_s"] if ok else None, limit,
         f"one-line change <= invalidated steps ({ours.get('invalidated_cold_s', 'n/a')} s cold) + {GOAL_SLACK_S} s")
    return out


def _s(value: float | None) -> str:
    return "" if value is None else f"{value:.2f} s"


def tables(results: dict[str, Any]) -> str:
    peers = results["peers"]
    names = list(peers)

    def cell(peer: str, key: str, sub: str = "median_s") -> str:
        got = peers[peer]
        if got.get("status") != "ok":
            return str(got.get("status"))
        value = got[key] if sub == "" else got[key][sub]
        return _s(value)

    rows: list[list[str]] = []
    for case, title in (("cold", "cold build (3 stages, 10 RUN, COPY of 2,001 files / 52 MB)"),
                        ("unchanged", f"unchanged rebuild (median of {results['rebuilds'] * results['runs']})"),
                        ("changed", f"one-line change in {CHANGED} (median)")):
        rows.append([title, *(cell(p, f"{case}_s") for p in names)])
        rows.append(["  before the first step (context sent, unpacked)",
                     *(cell(p, "before_steps_s", case) for p in names)])
        rows.append(["  after the last step (tagged, cleaned up)", *(cell(p, "after_steps_s", case) for p in names)])
    rows.append(["  the changed build's invalidated steps, cold", *(cell(p, "invalidated_cold_s", "") for p in names)])
    if "floor_s" in results:
        rows.append(["floor: docker build against a server that only reads the context",
                     _s(results["floor_s"]["median_s"]), *([""] * (len(names) - 1))])
    lines = [format_table(["case", *names], rows), ""]
    for g in results["goals"]:
        verdict = "n/a" if g["met"] is None else "met" if g["met"] else "MISSED"
        lines.append(f"goal: {g['text']}: ours {_s(g['value_s']) or 'n/a'}, limit {_s(g['limit_s']) or 'n/a'}: "
                     f"{verdict}")
    for peer in names:
        for fault in peers[peer].get("cache_faults", []):
            lines.append(f"cache/stream: {peer}: {fault}")
    ok = [p for p in names if peers[p].get("status") == "ok"]
    if ok:
        step_rows = []
        for i, text in enumerate(INSTRUCTIONS):
            cells = []
            for p in ok:
                steps = peers[p]["builds"]["cold"][0]["steps"]
                cells.append(_s(steps[i]["seconds"]) if len(steps) == len(INSTRUCTIONS) else "")
            step_rows.append([text[:58], *cells])
        lines += ["", format_table(["cold build, per step (first run)", *ok], step_rows)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=1, help="cold builds per peer, each on a fresh store")
    parser.add_argument("--rebuilds", type=int, default=3, help="unchanged and changed rebuilds per run")
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated: ours,podman,docker")
    parser.add_argument("--profile", action="store_true",
                        help="our engine samples itself in the first run (bench/sampler.py): hot spots per case")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results/build_bench.json")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("build_bench: needs root", file=sys.stderr)
        return 1
    asked = [p.strip() for p in args.peers.split(",") if p.strip()]
    if unknown := sorted(set(asked) - set(PEERS)):
        print(f"build_bench: unknown peer {', '.join(unknown)} (choose among {', '.join(PEERS)})", file=sys.stderr)
        return 2
    chosen = [p for p in PEERS if p in asked]
    results: dict[str, Any] = {"runs": args.runs, "rebuilds": args.rebuilds, "kernel": platform.release(),
                               "python": platform.python_version(), "cpus": os.cpu_count(),
                               "context": {"small_files": SMALL_FILES, "big_mb": BIG_MB, "changed": CHANGED},
                               "dockerfile": DOCKERFILE, "peers": {}}
    work = Path(tempfile.mkdtemp(prefix="pyc-build-bench-"))
    try:
        context = make_context(work / "context")
        busybox = busybox_tar(work / "busybox.tar")
        if installed("docker"):
            with null_engine(work) as env:
                floor = [build(["docker", "build", str(context)], env).seconds for _ in range(args.rebuilds)]
            results["floor_s"] = summary(floor, "s", 3)
        runs: dict[str, list[dict[str, Any]]] = {p: [] for p in chosen}
        for peer in chosen:
            if why := missing(peer):
                if peer == "ours":
                    raise SystemExit(f"build_bench: {why}")
                results["peers"][peer] = {"status": why}
        for n in range(args.runs):
            for peer in [p for p in chosen if p not in results["peers"]]:
                folder = work / f"{peer}-{n}"
                folder.mkdir()
                try:
                    if peer == "ours" and args.profile and n == 0:
                        with profiled(work) as out:
                            runs[peer].append(sequence(peer, context, folder, busybox, args.rebuilds,
                                                       lambda phase: sampler.set_phase(out, phase)))
                        results["profile"] = profile_report(out)
                    else:
                        runs[peer].append(sequence(peer, context, folder, busybox, args.rebuilds))
                except Refused as exc:
                    if peer == "ours":  # a bug of ours: the bench stops, saying which build failed and why
                        print(f"build_bench: ours: {exc}", file=sys.stderr)
                        return 1
                    print(f"{peer}: {NOT_SUPPORTED}: {exc}", file=sys.stderr)
                    results["peers"][peer] = {"status": NOT_SUPPORTED, "message": str(exc)}
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
        for peer in chosen:
            if peer not in results["peers"]:
                results["peers"][peer] = aggregate(runs[peer])
        results["peers"] = {p: results["peers"][p] for p in chosen}
        results["goals"] = goals(results["peers"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(tables(results))
    for report in results.get("profile", {}).values():
        print("\nours, " + sampler.format_report(report))
    if not args.no_write:
        write_results("build_bench", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
