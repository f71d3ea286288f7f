"""An API-1.41 engine never receives a field it does not know.

A recording proxy (api_proxy.py) in front of the session's engine claims API
1.41 in its `Api-Version` header. Our CLI negotiates 1.41 from it, and a
project using what the compose layer sends (two networks, a healthcheck with
a start period, init, a named volume, stop_grace_period) goes `up -d --wait`,
`ps`, `exec`, `run`, `stop`, `down -v` through it. Every request it recorded
is then checked: versioned as /v1.41, no body with a field newer than 1.41
(the list below is written from the Engine API's version history, apart from
the table in compose/client/versions.py), one network at create and the
other connected after it. Connection and version errors are one line.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from compose.client import version_cache
from compose.client.blocking import BlockingClient
from tests.compose.cli import compose_e2e
from tests.compose.cli.runner import PYCOMPOSE
from tests.compose.client.api_proxy import Sent, VersionProxy
from tests.engine_fixture import EngineHandle
from tests.runtime.api.inprocess import short_dir

pytestmark = pytest.mark.root
compose_engine = compose_e2e.compose_engine  # a fixture: the module's engine, with busybox

# Fields the Engine API added after 1.41 (version-history.md), wherever they sit in a body.
AFTER_141 = {"StartInterval", "Annotations", "CreateMountpoint", "ReadOnlyNonRecursive", "ReadOnlyForceRecursive",
             "Subpath", "GwPriority", "ConsoleSize", "EnableIPv4", "ClusterVolumeSpec", "ImageOptions", "Options@Tmpfs"}
PARAMS_AFTER_141 = {("/stop", "signal"), ("/restart", "signal")}
PROJECT = """\
name: v141
services:
  app:
    image: busybox:latest
    command: ["sh", "-c", "touch /tmp/ok; echo started; exec sleep 1000"]
    init: true
    stop_grace_period: 3s
    volumes: [data:/data]
    networks: [front, back]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ok"]
      interval: 1s
      start_period: 10s
networks:
  front: {}
  back: {}
volumes:
  data: {}
"""


@pytest.fixture
def proxy(compose_engine: EngineHandle) -> Iterator[VersionProxy]:
    with short_dir() as d:
        p = VersionProxy(d / "p.sock", str(compose_engine.socket), claim="1.41")
        try:
            yield p
        finally:
            p.close()


def cli(host: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd), "LANG": "C.UTF-8",
           "DOCKER_HOST": host,
           # The session's CLI server (tests/conftest.py), not the machine's default one other sessions stop.
           **{k: v for k, v in os.environ.items() if k == "PYCOMPOSE_CLI_DIR"}}
    return subprocess.run([PYCOMPOSE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def _keys(node: Any, parent: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield "Options@Tmpfs" if key == "Options" and parent == "TmpfsOptions" else key
            yield from _keys(value, key)
    elif isinstance(node, list):
        for value in node:
            yield from _keys(value, parent)


def _body(sent: Sent) -> Any:
    try:
        return json.loads(sent.body) if sent.body.strip() else None
    except ValueError:
        return None  # an archive, not JSON


def test_the_compose_layer_at_api_1_41(proxy: VersionProxy, tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(PROJECT)
    try:
        up = cli(proxy.host, tmp_path, "up", "-d", "--wait")
        assert up.returncode == 0, up.stderr
        ps = cli(proxy.host, tmp_path, "ps", "--format", "{{.Service}} {{.Health}}")
        assert ps.stdout.split() == ["app", "healthy"], ps.stderr
        exec_ = cli(proxy.host, tmp_path, "exec", "-T", "app", "ls", "/data")
        assert exec_.returncode == 0, exec_.stderr
        ran = cli(proxy.host, tmp_path, "run", "--rm", "-T", "app", "echo", "one-off")
        assert ran.returncode == 0 and "one-off" in ran.stdout, ran.stderr
        inspect = BlockingClient(proxy.host).call("GET", "/containers/v141-app-1/json")
        assert sorted(inspect["NetworkSettings"]["Networks"]) == ["v141_back", "v141_front"]
        stop = cli(proxy.host, tmp_path, "stop")
        assert stop.returncode == 0, stop.stderr
    finally:
        down = cli(proxy.host, tmp_path, "down", "-v")
    assert down.returncode == 0, down.stderr

    sent = proxy.requests()
    assert len(sent) > 10
    for request in sent:
        path = request.target.split("?")[0]
        assert path == "/_ping" or path.startswith("/v1.41/"), request.target
        newer = AFTER_141 & set(_keys(_body(request)))
        assert not newer, f"{request.method} {request.target} carries {newer}: {request.body[:300]!r}"
        for suffix, param in PARAMS_AFTER_141:
            assert not (path.endswith(suffix) and f"{param}=" in request.target), request.target
    creates = [_body(r) for r in sent if r.target.startswith("/v1.41/containers/create")]
    assert creates
    assert all(len(c["NetworkingConfig"]["EndpointsConfig"]) <= 1 for c in creates if "NetworkingConfig" in c)
    assert any(r.target.startswith("/v1.41/networks/") and "/connect" in r.target for r in sent)


def test_what_1_41_cannot_carry_is_refused_in_one_line(proxy: VersionProxy, tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(PROJECT.replace("start_period: 10s", "start_period: 10s\n"
                                                           "      start_interval: 100ms"))
    up = cli(proxy.host, tmp_path, "up", "-d")
    down = cli(proxy.host, tmp_path, "down", "-v")
    assert up.returncode != 0 and "Traceback" not in up.stderr
    assert up.stderr.splitlines()[-1].endswith(
        '"healthcheck.start_interval" requires API version 1.44, but the Docker daemon API version is 1.41')
    assert down.returncode == 0, down.stderr
    assert not any("StartInterval" in r.body.decode(errors="replace") for r in proxy.requests())


def test_negotiation_is_remembered_per_socket(proxy: VersionProxy, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(version_cache.CACHE_ENV, str(tmp_path))
    monkeypatch.delenv("DOCKER_API_VERSION", raising=False)
    assert BlockingClient(proxy.host).api_version == "1.41"
    assert BlockingClient(proxy.host).call("GET", "/containers/json") is not None
    pings = [r for r in proxy.requests() if r.target == "/_ping"]
    assert len(pings) == 1  # the second client took the version from the cache
    assert version_cache.lookup(str(proxy.listen)) == "1.41"
    # A new socket at the same path is another engine: asked again.
    assert version_cache.lookup(str(tmp_path / "nothing.sock")) is None


def test_connection_errors_are_one_line(tmp_path: Path) -> None:
    with short_dir() as d:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(d / "mute.sock"))
        listener.listen(8)

        def hang_up() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                conn.close()

        thread = threading.Thread(target=hang_up, daemon=True)
        thread.start()
        (tmp_path / "compose.yaml").write_text(PROJECT)
        try:
            for args in (("ps",), ("up", "-d"), ("exec", "-T", "app", "true"), ("run", "--rm", "-T", "app", "true")):
                result = cli(f"unix://{d / 'mute.sock'}", tmp_path, *args)
                assert result.returncode != 0 and "Traceback" not in result.stderr, (args, result.stderr)
                assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
        finally:
            listener.close()
            thread.join(5)


def test_a_wrong_remembered_version_is_asked_again(compose_engine: EngineHandle, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import anyio

    from compose.client import EngineClient

    monkeypatch.setenv(version_cache.CACHE_ENV, str(tmp_path))
    monkeypatch.delenv("DOCKER_API_VERSION", raising=False)
    sock = str(compose_engine.socket)
    version_cache.remember(sock, "1.46")  # wrong: our engine stops at 1.45 and answers "too new"
    assert isinstance(BlockingClient(compose_engine.host).call("GET", "/containers/json"), list)
    assert version_cache.lookup(sock) == "1.45"

    version_cache.remember(sock, "1.46")

    async def main() -> str:
        async with EngineClient(compose_engine.host) as client:
            assert isinstance(await (await client.get("/containers/json")).json(), list)
            return client.api_version

    assert anyio.run(main) == "1.45"
    assert version_cache.lookup(sock) == "1.45"
