"""Time pulling an image of 160 MB in 4 layers (gzip) from a local registry (Debian's
docker-registry on 127.0.0.1): our engine (a private one, cold store, through the docker CLI),
`podman pull` on a storage root of its own (overlay driver), and dockerd when installed (a private daemon).

Each peer pulls RUNS times from an empty store (image and layers removed between runs); the
table shows the best and the median. Peers missing are marked "not installed", a peer that
fails is marked with its error. Writes bench/results/pull_bench.json.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import NOT_INSTALLED, Podman, dockerd_missing, last_line, private_dockerd, summary, write_results
from tests.compose.cli.engines import stop_engine
from tests.engine_fixture import start_private_engine
from tests.registry_fixture import start_registry
from tests.registry_images import big_layers, oci_layout, push_layout

MB = 1 << 20
SIZES = [64 * MB, 48 * MB, 32 * MB, 16 * MB]
RUNS = 3


def timed(cmd: list[str], env: dict[str, str] | None = None, reset: Callable[[], None] | None = None) -> list[float]:
    times = []
    for _ in range(RUNS):
        if reset is not None:
            reset()
        start = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(last_line(done.stderr or done.stdout))
        times.append(elapsed)
    return times


def ours(ref: str, tmp: Path) -> list[float]:
    engine = start_private_engine(tmp / "ours", log_level="warning")
    env = {**os.environ, "DOCKER_HOST": engine.host, "DOCKER_CONFIG": str(tmp / "docker-config")}

    def reset() -> None:
        subprocess.run(["docker", "rmi", "-f", ref], env=env, capture_output=True)
        subprocess.run(["docker", "image", "prune", "-af"], env=env, capture_output=True)

    try:
        return timed(["docker", "pull", "-q", ref], env, reset)
    finally:
        stop_engine(engine)


def podman(ref: str, tmp: Path) -> list[float]:
    if shutil.which("podman") is None:
        raise FileNotFoundError(NOT_INSTALLED)
    peer = Podman(tmp)

    def reset() -> None:
        peer.run("rmi", "-af", check=False)

    try:
        return timed([*peer.argv, "pull", "-q", "--tls-verify=false", ref], peer.env, reset)
    finally:
        peer.close()


def dockerd(ref: str, tmp: Path) -> list[float]:
    if dockerd_missing():
        raise FileNotFoundError(NOT_INSTALLED)
    with private_dockerd(tmp / "dockerd") as daemon:

        def reset() -> None:
            subprocess.run(["docker", "rmi", "-f", ref], env=daemon.env, capture_output=True)

        return timed(["docker", "pull", "-q", ref], daemon.env, reset)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="pull-bench-"))
    registry = start_registry(tmp / "registry")
    results: dict[str, dict[str, object]] = {}
    try:
        layout = oci_layout(tmp / "layout", big_layers(SIZES))
        push_layout(layout, registry, "bench/big", "v1")
        ref = f"{registry.host}/bench/big:v1"
        for name, peer in (("pycompose engine", ours), ("podman pull", podman), ("dockerd", dockerd)):
            try:
                times = peer(ref, tmp)
                results[name] = {"best_s": round(min(times), 3), "median_s": summary(times, "s", 3)["median_s"],
                                 "runs": [round(t, 3) for t in times]}
            except FileNotFoundError:
                results[name] = {"status": NOT_INSTALLED}
            except Exception as exc:  # a peer that refuses is marked, never a crash
                results[name] = {"status": f"failed: {exc}"}
    finally:
        registry.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    total = sum(SIZES) // MB
    print(f"pull of a {total} MB image in {len(SIZES)} gzip layers from a local registry, {RUNS} cold runs")
    print(f"{'peer':<20} {'best s':>8} {'median s':>9} {'MB/s':>7}")
    for name, row in results.items():
        if "best_s" in row:
            best = float(row["best_s"])  # type: ignore[arg-type]
            print(f"{name:<20} {best:>8.2f} {float(row['median_s']):>9.2f} {total / best:>7.0f}")  # type: ignore[arg-type]
        else:
            print(f"{name:<20} {row['status']}")
    write_results("pull_bench", {"image_mb": total, "layers": len(SIZES), "runs": RUNS, "results": results})


if __name__ == "__main__":
    main()
