"""Time `pycompose config -q` on a generated 500-service file and `pycompose --help`.

Each is shown next to `python -c pass` measured in the same run (machines here
are noisy: compare ratios, not absolute times). Prints a table and writes
bench/results/config_bench.json.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYCOMPOSE = str(Path(sys.executable).parent / "pycompose")
RUNS = 7


def generated_project(services: int) -> str:
    lines = ["services:"]
    for i in range(services):
        lines += [
            f"  svc{i}:",
            "    image: busybox:latest",
            f"    command: [\"sh\", \"-c\", \"echo {i}\"]",
            "    environment:",
            f"      INDEX: \"{i}\"",
            "      MODE: ${MODE:-bench}",
            "    ports:",
            f"      - \"{10000 + i}:80\"",
            "    volumes:",
            f"      - data{i % 10}:/data",
            "    labels:",
            f"      bench.index: \"{i}\"",
        ]
        if i:
            lines += ["    depends_on:", f"      - svc{i - 1}"]
    lines.append("volumes:")
    lines += [f"  data{j}: {{}}" for j in range(10)]
    return "\n".join(lines) + "\n"


def timed(cmd: list[str], cwd: Path) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        (cwd / "compose.yaml").write_text(generated_project(500))
        baseline = timed([sys.executable, "-c", "pass"], cwd)
        rows = [
            ("python -c pass", baseline, None),
            ("pycompose config -q (500 services)", timed([PYCOMPOSE, "config", "-q"], cwd), 0.300),
            ("pycompose --help", timed([PYCOMPOSE, "--help"], cwd), 0.120),
        ]
    print(f"{'what':40} {'median s':>9} {'x baseline':>10} {'goal s':>7}")
    for name, seconds, goal in rows:
        print(f"{name:40} {seconds:9.3f} {seconds / baseline:10.1f} {goal if goal else '':>7}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    result = {name: {"median_s": s, "ratio_to_python": s / baseline, "goal_s": g} for name, s, g in rows}
    (out / "config_bench.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
