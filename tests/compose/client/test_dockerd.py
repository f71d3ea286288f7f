"""The compose layer drives Debian's dockerd 20.10 (API 1.41): the example stack, start to finish.

The test starts dockerd itself (tests/compose/client/dockerd.py: its own
socket, roots, cgroup parent and managed containerd), imports busybox into it
through the API, and runs examples/web with our CLI: `up -d --wait`, `ps`,
`logs`, `exec`, `down -v`. The example's `start_interval` needs API 1.44, so
as it stands it is refused in one line, as docker compose refuses it; an
override (`!reset`) runs it without. Then dockerd stops and nothing of it may
be left (processes, containerd and shims, mounts, cgroups, bridges).
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from compose.client.blocking import BlockingClient
from tests.compose.cli.runner import PYCOMPOSE
from tests.compose.client import dockerd
from tests.runtime.images.busybox import build_busybox_rootfs_tar

pytestmark = pytest.mark.root
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "web" / "compose.yaml"
OLDER = """\
services:
  web:
    healthcheck:
      start_interval: !reset null
  store:
    healthcheck:
      start_interval: !reset null
"""
_count = itertools.count()


def _proxies() -> set[str]:
    """docker-proxy processes (published ports): their command lines do not name dockerd's paths."""
    out = set()
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "docker-proxy":
                out.add(f"{pid} docker-proxy")
        except OSError:
            continue
    return out


def _links() -> set[str]:
    """dockerd's bridges (`br-<id>`, `docker0`). Its `veth<hex>` go with their bridge; podman's share the name."""
    return {n for n in os.listdir("/sys/class/net") if n.startswith(("br-", "docker"))}


@pytest.fixture(scope="module")
def daemon() -> Iterator[dockerd.Dockerd]:
    why = dockerd.missing()
    if why:
        pytest.skip(why)
    base = Path(tempfile.mkdtemp(prefix="pycdd-"))
    links, proxies = _links(), _proxies()
    d = dockerd.start(base, f"pycdockerd-{os.getpid()}-{next(_count)}")
    try:
        tar = build_busybox_rootfs_tar(base / "busybox.tar")
        client = BlockingClient(d.host)
        client.open("POST", "/images/create", {"fromSrc": "-", "repo": "busybox", "tag": "latest",
                                              "changes": ['CMD ["sh"]']}, body=tar.read_bytes()).read()
        yield d
    finally:
        d.stop()
        left = d.leftovers() + sorted(_links() - links) + sorted(_proxies() - proxies)
        d.remove()
    assert not left, f"dockerd left behind: {left}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(d: dockerd.Dockerd, cwd: Path, *args: str, port: int = 0) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd), "LANG": "C.UTF-8",
           "DOCKER_HOST": d.host, "WEB_PORT": str(port or _free_port()),
           # The session's CLI server (tests/conftest.py), not the machine's default one other sessions stop.
           **{k: v for k, v in os.environ.items() if k == "PYCOMPOSE_CLI_DIR"}}
    return subprocess.run([PYCOMPOSE, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=180, check=False)


def test_the_engine_speaks_1_41_and_we_with_it(daemon: dockerd.Dockerd) -> None:
    client = BlockingClient(daemon.host)
    assert client.api_version == "1.41"
    assert client.call("GET", "/version")["ApiVersion"] == "1.41"


def test_start_interval_is_refused_in_one_line(daemon: dockerd.Dockerd, tmp_path: Path) -> None:
    result = run(daemon, tmp_path, "-f", str(EXAMPLE), "up", "-d")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert ('"healthcheck.start_interval" requires API version 1.44, but the Docker daemon API version is 1.41'
            in result.stderr.splitlines()[-1])
    down = run(daemon, tmp_path, "-f", str(EXAMPLE), "down", "-v")
    assert down.returncode == 0, down.stderr


def test_the_example_stack_on_dockerd(daemon: dockerd.Dockerd, tmp_path: Path) -> None:
    (tmp_path / "older.yaml").write_text(OLDER)
    files = ["-f", str(EXAMPLE), "-f", str(tmp_path / "older.yaml")]
    port = _free_port()
    try:
        up = run(daemon, tmp_path, *files, "up", "-d", "--wait", port=port)
        assert up.returncode == 0, up.stderr
        ps = run(daemon, tmp_path, *files, "ps", "--format", "{{.Service}} {{.State}} {{.Health}}", port=port)
        assert ps.returncode == 0, ps.stderr
        assert sorted(ps.stdout.split("\n")[:-1]) == ["store running healthy", "web running healthy",
                                                     "worker running "]
        page = run(daemon, tmp_path, *files, "exec", "-T", "web", "wget", "-q", "-O", "-",
                   "http://127.0.0.1:8080/", port=port)
        assert page.returncode == 0 and "hello from worker" in page.stdout, page.stderr
        logs = run(daemon, tmp_path, *files, "logs", "web", port=port)
        assert logs.returncode == 0 and "web-1  | " in logs.stderr and "response:200" in logs.stderr, logs.stderr
    finally:
        down = run(daemon, tmp_path, *files, "down", "-v", port=port)
    assert down.returncode == 0, down.stderr
    client = BlockingClient(daemon.host)
    assert client.call("GET", "/containers/json", {"all": True}) == []
    assert client.call("GET", "/volumes")["Volumes"] in (None, [])
    assert sorted(n["Name"] for n in client.call("GET", "/networks")) == ["host", "none"]


def test_one_off_containers_on_dockerd(daemon: dockerd.Dockerd, tmp_path: Path) -> None:
    (tmp_path / "older.yaml").write_text(OLDER)
    files = ["-f", str(EXAMPLE), "-f", str(tmp_path / "older.yaml")]
    try:
        # web depends on store (healthy) and worker: run brings them up first (and the network, the volume).
        ran = run(daemon, tmp_path, *files, "run", "--rm", "-T", "web", "echo", "one-off")
        assert ran.returncode == 0 and ran.stdout.strip() == "one-off", ran.stderr
    finally:
        down = run(daemon, tmp_path, *files, "down", "-v")
    assert down.returncode == 0, down.stderr
    plain = run(daemon, tmp_path, "container", "run", "--rm", "busybox:latest", "echo", "plain")
    assert plain.returncode == 0 and plain.stdout.strip() == "plain", plain.stderr
    assert BlockingClient(daemon.host).call("GET", "/containers/json", {"all": True}) == []
