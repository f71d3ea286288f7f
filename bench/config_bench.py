"""Time `pycompose config -q` on a generated 500-service file and `pycompose --help`.

Each is shown next to `python -c pass` measured in the same run (machines here
are noisy: compare ratios, not absolute times), as users run them (a first
command line leaves a CLI server behind, compose/cli/warm: one untimed run
starts it) and with the server turned off (PYCOMPOSE_CLI_SERVER=0, what a
first command line costs). Prints a table and writes
bench/results/config_bench.json.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PYCOMPOSE, write_results
from compose.cli.warm.server import stop_servers, wait_for_server

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


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, env=env)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        (cwd / "compose.yaml").write_text(generated_project(500))
        cli_dir = cwd / "cli"
        cli_dir.mkdir(mode=0o700)
        warm = {**os.environ, "PYCOMPOSE_CLI_DIR": str(cli_dir)}
        cold = {**warm, "PYCOMPOSE_CLI_SERVER": "0"}
        try:
            subprocess.run([*PYCOMPOSE, "--help"], check=True, capture_output=True, env=warm)
            wait_for_server(str(cli_dir))
            baseline = timed([sys.executable, "-c", "pass"], cwd)
            rows = [
                ("python -c pass", baseline, None),
                ("pycompose config -q (500 services)", timed([*PYCOMPOSE, "config", "-q"], cwd, warm), 0.300),
                ("pycompose --help", timed([*PYCOMPOSE, "--help"], cwd, warm), 0.120),
                ("  the same, no CLI server: config -q", timed([*PYCOMPOSE, "config", "-q"], cwd, cold), None),
                ("  the same, no CLI server: --help", timed([*PYCOMPOSE, "--help"], cwd, cold), None),
            ]
        finally:
            stop_servers(str(cli_dir))
    print(f"{'what':40} {'median s':>9} {'x baseline':>10} {'goal s':>7}")
    for name, seconds, goal in rows:
        print(f"{name:40} {seconds:9.3f} {seconds / baseline:10.1f} {goal if goal else '':>7}")
    write_results("config_bench", {name: {"median_s": s, "ratio_to_python": s / baseline, "goal_s": g}
                                   for name, s, g in rows})


if __name__ == "__main__":
    main()
