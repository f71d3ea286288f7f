"""RUN steps are containers: they reach a server on the build's network, and are isolated
like `docker run` (own PID namespace, hostname, /etc/hosts with --add-host, --network none)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine_fixture import EngineHandle
from tests.runtime.build.clients import docker, write

pytestmark = pytest.mark.root


@pytest.fixture
def web(engine: EngineHandle, busybox: str) -> Iterator[str]:
    docker(engine, "run", "-d", "--name", "build-web", busybox, "sh", "-c",
           "mkdir -p /www && echo hi-from-web > /www/index.html && exec httpd -f -p 8080 -h /www")
    try:
        yield docker(engine, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", "build-web").stdout.strip()
    finally:
        docker(engine, "rm", "-f", "build-web")


def test_run_reaches_a_server_and_is_isolated(engine: EngineHandle, web: str, tmp_path: Path) -> None:
    ctx = write(tmp_path, {"Dockerfile": "FROM busybox\nARG WEB\n"
                           "RUN for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO /got http://$WEB:8080/ && break; sleep 0.3; "
                           "done; cat /got && echo $$ > /pid && hostname > /name && cat /etc/hosts > /hosts\n"})
    out = docker(engine, "build", "--build-arg", f"WEB={web}", "--add-host", "extra.example:10.9.8.7",
                 "-t", "netbuild", str(ctx)).stdout
    assert "hi-from-web" in out, out
    assert docker(engine, "run", "--rm", "netbuild", "cat", "/got").stdout == "hi-from-web\n"
    assert docker(engine, "run", "--rm", "netbuild", "cat", "/pid").stdout == "1\n"
    hosts = docker(engine, "run", "--rm", "netbuild", "cat", "/hosts").stdout
    assert "10.9.8.7\textra.example" in hosts, hosts
    name = docker(engine, "run", "--rm", "netbuild", "cat", "/name").stdout.strip()
    assert name and name != Path("/proc/sys/kernel/hostname").read_text().strip()


def test_network_none_cannot_reach(engine: EngineHandle, web: str, tmp_path: Path) -> None:
    ctx = write(tmp_path, {"Dockerfile": f"FROM busybox\nRUN wget -T 2 -qO- http://{web}:8080/\n"})
    failed = docker(engine, "build", "--network", "none", "--force-rm", str(ctx), check=False)
    assert failed.returncode != 0, failed.stdout + failed.stderr
    assert f"The command '/bin/sh -c wget -T 2 -qO- http://{web}:8080/' returned a non-zero code: " in failed.stderr
    only_lo = write(tmp_path / "lo", {"Dockerfile": "FROM busybox\nRUN ls /sys/class/net > /nets\n"})
    docker(engine, "build", "--network", "none", "-t", "nonet", str(only_lo))
    assert docker(engine, "run", "--rm", "nonet", "cat", "/nets").stdout == "lo\n"


def test_a_client_that_goes_away_stops_the_build(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    import subprocess
    import time

    from tests.compose.cli.engines import DOCKER, cli_env

    if DOCKER is None:
        pytest.skip("no docker CLI on PATH")
    ctx = write(tmp_path, {"Dockerfile": "FROM busybox\nRUN echo started && sleep 60\n"})
    proc = subprocess.Popen([DOCKER, "build", str(ctx)], env=cli_env(engine.root.parent, engine),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == "started":
            break
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and docker(engine, "ps", "-aq").stdout.strip():
        time.sleep(0.2)
    assert docker(engine, "ps", "-aq").stdout.strip() == ""


def test_limits_reach_run_steps(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    ctx = write(tmp_path, {"Dockerfile": (
        "FROM busybox\nRUN (cat /sys/fs/cgroup/memory.max 2>/dev/null"
        " || cat /sys/fs/cgroup/memory/memory.limit_in_bytes) > /mem"
        " && (cat /sys/fs/cgroup/cpuset.cpus 2>/dev/null || cat /sys/fs/cgroup/cpuset/cpuset.cpus) > /cpus"
        " && df -k /dev/shm | tail -1 > /shm\n")})
    docker(engine, "build", "--memory", "64m", "--cpuset-cpus", "0", "--shm-size", "32m", "-t", "limited", str(ctx))
    assert docker(engine, "run", "--rm", "limited", "cat", "/mem").stdout.strip() == str(64 * 1024 * 1024)
    assert docker(engine, "run", "--rm", "limited", "cat", "/cpus").stdout.strip() == "0"
    assert docker(engine, "run", "--rm", "limited", "cat", "/shm").stdout.split()[1] == "32768"
