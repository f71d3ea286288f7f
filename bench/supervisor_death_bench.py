"""How long the engine's containers are without a supervisor after `kill -9` of it, and what is lost.

Starts a private engine with busybox and N containers printing a counter
every 10 ms, then kills the supervisor KILLS times. For each kill: the time
until the holder's new supervisor answers a ping, and until the engine's
`GET /containers/json` answers 200 again (503 meanwhile). At the end the
containers are stopped and their logs checked: numbers missing or doubled.
Also the holder's and the supervisor's private memory. Prints a table and
writes bench/results/supervisor_death_bench.json. Needs root and the docker CLI.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import write_results
from runtime.containers.supervisor import launch
from tests.compose.cli.engines import cli_env
from tests.conftest import _stop_supervisor
from tests.engine_fixture import start_private_engine
from tests.runtime.api.containers_env import import_busybox

COUNTS = (5, 20)
KILLS = 5
COUNTER = "trap 'exit 0' TERM; i=0; while true; do echo $i; i=$((i+1)); sleep 0.01; done"


def docker(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(["docker", *args], env=env, capture_output=True, timeout=120, check=False)
    if result.returncode != 0:
        raise SystemExit(f"docker {' '.join(args)}: {result.stderr.decode().strip()}")
    return result.stdout.decode()


def status(sock: Path) -> int:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(10)
        conn.connect(os.fspath(sock))
        conn.sendall(b"GET /containers/json HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
        return int(conn.recv(64).split()[1])


def private_kib(pid: int) -> int:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:])
    return int(fields["Private_Clean"].split()[0]) + int(fields["Private_Dirty"].split()[0])


def measure(count: int, where: Path) -> dict[str, object]:
    handle = start_private_engine(where / f"engine{count}", log_level="info")
    env = cli_env(where, handle)
    names = [f"counter{i}" for i in range(count)]
    try:
        import_busybox(env, where)
        for name in names:
            docker(env, "run", "-d", "--name", name, "busybox", "sh", "-c", COUNTER)
        time.sleep(0.5)
        answered, served = [], []
        for _ in range(KILLS):
            old = launch.supervisor_pid(handle.root)
            assert old is not None
            killed = time.monotonic()
            os.kill(old, signal.SIGKILL)
            while not (launch.supervisor_pid(handle.root) not in (None, old) and launch._answers(handle.root)):
                time.sleep(0.005)
            answered.append(time.monotonic() - killed)
            while status(handle.socket) != 200:
                time.sleep(0.005)
            served.append(time.monotonic() - killed)
            time.sleep(0.5)
        pid = launch.supervisor_pid(handle.root)
        assert pid is not None
        holder = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        memory = {"holder_kib": private_kib(holder), "supervisor_kib": private_kib(pid)}
        docker(env, "stop", *names)
        missing = doubled = lines = 0
        for name in names:
            numbers = [int(n) for n in docker(env, "logs", name).split()]
            lines += len(numbers)
            missing += len(set(range(max(numbers) + 1)) - set(numbers))
            doubled += len(numbers) - len(set(numbers))
        docker(env, "rm", *names)
        return {"containers": count, "kills": KILLS, "answered_s": statistics.median(answered),
                "served_s": statistics.median(served), "served_max_s": max(served), "lines": lines,
                "missing": missing, "doubled": doubled, **memory}
    finally:
        subprocess.run(["docker", "rm", "-f", *names], env=env, capture_output=True, timeout=120, check=False)
        handle.stop()
        _stop_supervisor(handle.root)


def main() -> None:
    if shutil.which("docker") is None or os.geteuid() != 0:
        raise SystemExit("needs root and the docker CLI")
    rows = []
    with tempfile.TemporaryDirectory(prefix="pyc-bench-") as tmp:
        for count in COUNTS:
            rows.append(measure(count, Path(tmp) / str(count)))
    print(f"{'containers':>10} {'kills':>5} {'new sup (med)':>13} {'API 200 (med)':>13} {'API 200 (max)':>13} "
          f"{'lines':>7} {'missing':>7} {'doubled':>7} {'holder KiB':>10} {'sup KiB':>8}")
    for r in rows:
        print(f"{r['containers']:>10} {r['kills']:>5} {r['answered_s']:>12.3f}s {r['served_s']:>12.3f}s "
              f"{r['served_max_s']:>12.3f}s {r['lines']:>7} {r['missing']:>7} {r['doubled']:>7} "
              f"{r['holder_kib']:>10} {r['supervisor_kib']:>8}")
    write_results("supervisor_death_bench", rows)


if __name__ == "__main__":
    main()
