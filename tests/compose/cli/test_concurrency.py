"""Twenty projects brought up at once by twenty `pycompose` processes on one engine, then taken down at once:
all of them run, every client sees them, and `down -v` leaves nothing of any of them behind (engine objects,
links, mounts, cgroups, processes)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.compose.cli import compose_e2e
from tests.compose.cli.compose_e2e import PYCOMPOSE, environ
from tests.compose.cli.project_objects import collect, leftovers
from tests.engine_fixture import EngineHandle

pytestmark = [pytest.mark.root, pytest.mark.timeout(600)]
compose_engine = compose_e2e.compose_engine  # a fixture: the module's engine

PROJECTS = 20
APP = """
services:
  web:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
    networks: [back]
    depends_on: [db]
  db:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
    networks: [back]
    volumes: [data:/data]
  job:
    image: busybox
    command: ["sh", "-c", "echo done > /data/job"]
    volumes: [data:/data]
    network_mode: none
networks: {back: {}}
volumes: {data: {}}
"""
# Docker's predefined pools hold 31 subnets for every engine on the host together: half the projects name
# their own, so engines of other test sessions running meanwhile cannot exhaust them.
OWN_SUBNET = "networks: {back: {ipam: {config: [{subnet: 10.213.%d.0/24}]}}}"


def all_at_once(handle: EngineHandle, dirs: dict[str, Path], *args: str) -> dict[str, subprocess.CompletedProcess[str]]:
    """`pycompose -p NAME ARGS` in every project folder, all started before any is waited for."""
    processes = {
        name: subprocess.Popen([PYCOMPOSE, "-p", name, *args], cwd=folder, env=environ(handle),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, folder in dirs.items()
    }
    results = {}
    try:
        for name, process in processes.items():
            out, err = process.communicate(timeout=300)
            results[name] = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return results


def failures(results: dict[str, subprocess.CompletedProcess[str]]) -> dict[str, str]:
    return {name: r.stderr[-2000:] for name, r in results.items() if r.returncode != 0}


def ps(handle: EngineHandle, name: str, folder: Path) -> dict[str, str]:
    result = subprocess.run([PYCOMPOSE, "-p", name, "ps", "-a", "--format", "json"], cwd=folder,
                            env=environ(handle), capture_output=True, text=True, timeout=60, check=True)
    return {c["Name"]: c["State"] for c in map(json.loads, result.stdout.splitlines())}


def test_twenty_projects_up_and_down_concurrently(compose_engine: EngineHandle, tmp_path: Path) -> None:
    dirs = {}
    for n in range(PROJECTS):
        name = f"conc{n:02d}"
        dirs[name] = tmp_path / name
        dirs[name].mkdir()
        text = APP if n % 2 else APP.replace("networks: {back: {}}", OWN_SUBNET % n)
        (dirs[name] / "compose.yaml").write_text(text)
    try:
        assert failures(all_at_once(compose_engine, dirs, "up", "-d")) == {}
        expected = {}
        for name, folder in dirs.items():
            states = ps(compose_engine, name, folder)
            assert states == {f"{name}-web-1": "running", f"{name}-db-1": "running", f"{name}-job-1": "exited"}
            expected.update(states)
        if shutil.which("docker"):
            listed = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}} {{.State}}"],
                                    env={**environ(compose_engine), "DOCKER_CONFIG": str(tmp_path / ".docker")},
                                    capture_output=True, text=True, timeout=60, check=True).stdout
            seen = dict(line.split() for line in listed.splitlines())
            assert {k: seen.get(k) for k in expected} == expected
        objects = {name: collect(compose_engine, name) for name in dirs}
        for name, found in objects.items():
            assert len(found.containers) == 3 and found.networks == {f"{name}_back"}, found
            assert found.volumes == {f"{name}_data"}, found
        present = leftovers(compose_engine, "conc00", objects["conc00"])  # the probe finds what exists
        assert {"containers", "networks", "volumes", "links", "cgroups", "processes"} <= present.keys(), present
        assert failures(all_at_once(compose_engine, dirs, "down", "-v", "-t", "1")) == {}
        left = {name: leftovers(compose_engine, name, found) for name, found in objects.items()}
        assert {name: stuff for name, stuff in left.items() if stuff} == {}
    finally:
        all_at_once(compose_engine, dirs, "down", "-v", "-t", "0")
