"""The escape suite for CVE-2019-5736: a process in the container that writes to `/proc/self/exe`, or opens
`/proc/<pid>/exe` of an exec while the engine is still setting it up, must never reach a host binary."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.engine_fixture import EngineHandle
from tests.runtime.api.containers_env import docker_env, private_engine, run

pytestmark = [pytest.mark.root, pytest.mark.timeout(180)]
__all__ = ["docker_env", "private_engine"]

# Every process the container sees, its exe read and compared with the container's own busybox: anything
# else it could read (a host interpreter caught between fork and execve) is recorded, and written to.
WATCH = r"""
touch /ready
while :; do
  for p in /proc/[0-9]*; do
    if head -c 1 $p/exe >/dev/null 2>&1 && ! cmp -s $p/exe /bin/busybox; then
      readlink $p/exe >> /seen; echo pwned >> $p/exe 2>/dev/null
    fi
  done
done
"""


def _host_binaries() -> dict[str, str]:
    paths = {os.path.realpath(sys.executable), os.path.realpath("/proc/self/exe")}
    return {p: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}


def _cli(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = run(env, *args, check=check)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def test_writing_proc_self_exe_from_an_exec_changes_no_host_binary(docker_env: dict[str, str]) -> None:
    before = _host_binaries()
    name = f"exe{uuid.uuid4().hex[:8]}"
    _cli(docker_env, "run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "300")
    try:
        wrote = _cli(docker_env, "exec", name, "sh", "-c", "echo pwned >> /proc/self/exe", check=False)
        assert wrote.returncode != 0  # the container's own busybox is running: text file busy
        assert _cli(docker_env, "exec", name, "echo", "still").stdout == "still\n"
    finally:
        _cli(docker_env, "rm", "-f", name, check=False)
    assert _host_binaries() == before


def test_an_exec_being_set_up_shows_no_host_binary(private_engine: EngineHandle, docker_env: dict[str, str]) -> None:
    import docker

    before = _host_binaries()
    name = f"exe{uuid.uuid4().hex[:8]}"
    _cli(docker_env, "run", "-d", "--name", name, "--network", "none", "busybox", "sh", "-c", WATCH)
    client = docker.DockerClient(base_url=private_engine.host)
    try:
        container = client.containers.get(name)
        for _ in range(100):
            if container.exec_run(["test", "-e", "/ready"]).exit_code == 0:
                break
            time.sleep(0.05)
        end = time.monotonic() + 5
        execs = 0
        while time.monotonic() < end:
            assert container.exec_run(["true"]).exit_code == 0
            execs += 1
        seen = container.exec_run(["sh", "-c", "cat /seen 2>/dev/null"]).output.decode()
    finally:
        client.close()
        _cli(docker_env, "rm", "-f", name, check=False)
    assert execs > 5
    assert seen == "", f"the container read the exe of a process being set up: {seen}"
    assert _host_binaries() == before
