"""Pulls that go wrong: a corrupted blob, a connection dropped half-way, the client gone, the
engine killed with SIGKILL. Nothing unverified or half-made may stay; the next pull works."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compose.cli.engines import docker_cli, stop_engine, stop_supervisor
from tests.engine_fixture import EngineHandle, start_private_engine
from tests.registry_fixture import RegistryHandle
from tests.registry_images import big_layers, oci_layout, push_layout
from tests.registry_proxy import RegistryProxy
from tests.runtime.registry.api import call, stream_lines

pytestmark = pytest.mark.root
MB = 1 << 20


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineHandle]:
    handle = start_private_engine(tmp_path_factory.mktemp("registry-robust") / "engine")
    try:
        yield handle
    finally:
        stop_engine(handle)


@pytest.fixture(scope="module")
def proxy(registry: RegistryHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProxy]:
    """The registry with t/big:v1 (three 12 MB layers, uncompressed) behind a proxy."""
    layout = oci_layout(tmp_path_factory.mktemp("big"), big_layers([12 * MB, 12 * MB, 12 * MB]), compress="none")
    push_layout(layout, registry, "t/big", "v1")
    front = RegistryProxy(registry.port)
    try:
        yield front
    finally:
        front.stop()


def _state(root: Path) -> tuple[list[str], list[str], list[str]]:
    images = root / "images"
    blobs = sorted(p.name for p in (images / "blobs" / "sha256").iterdir())
    ingest = sorted(p.name for p in (images / "blobs" / "ingest").iterdir())
    snapshots = sorted(p.name for p in (images / "snapshots").iterdir())
    return blobs, ingest, snapshots


def _layer_digests(registry: RegistryHandle) -> list[str]:
    import urllib.request

    request = urllib.request.Request(f"{registry.url}/v2/t/big/manifests/v1",
                                     headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    with urllib.request.urlopen(request) as answer:
        return [layer["digest"] for layer in json.load(answer)["layers"]]


def test_concurrent_downloads_bounded(engine: EngineHandle, proxy: RegistryProxy) -> None:
    """Three layers at a time by default; `max-concurrent-downloads` in daemon.json lowers it."""
    proxy.faults.rate, proxy.faults.peak = 24 * MB, 0
    try:
        docker_cli(engine, "pull", f"{proxy.host}/t/big:v1", timeout=120)
        assert proxy.faults.peak == 3
        docker_cli(engine, "rmi", f"{proxy.host}/t/big:v1")
        (engine.root / "daemon.json").write_text(json.dumps({"max-concurrent-downloads": 1}))
        proxy.faults.peak = 0
        status, raw = call(engine, "POST", f"/images/create?fromImage={proxy.host}/t/big&tag=v1")
        assert status == 200 and proxy.faults.peak == 1
        statuses = [line.get("status") for line in stream_lines(raw)]
        assert statuses.count("Waiting") == 2 and statuses.count("Pull complete") == 3
        assert any(line.get("status") == "Downloading" and line["progressDetail"]["total"] > 0
                   for line in stream_lines(raw))
        docker_cli(engine, "rmi", f"{proxy.host}/t/big:v1")
    finally:
        proxy.faults.rate = 0.0
        (engine.root / "daemon.json").unlink(missing_ok=True)


def test_same_image_pulled_twice_at_once(engine: EngineHandle, proxy: RegistryProxy) -> None:
    """Compose pulls one image for several services at once: both pulls end well, one image, no leftovers."""
    proxy.faults.rate = 24 * MB
    answers: list[tuple[int, bytes]] = []
    try:
        threads = [threading.Thread(target=lambda: answers.append(
            call(engine, "POST", f"/images/create?fromImage={proxy.host}/t/big&tag=v1"))) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        proxy.faults.rate = 0.0
    assert [status for status, _ in answers] == [200, 200]
    assert all(b'"error"' not in raw for _, raw in answers), answers
    assert len(docker_cli(engine, "images", "-q").stdout.split()) == 1
    blobs, ingest, snapshots = _state(engine.root)
    assert ingest == [] and len(snapshots) == 3 and len(blobs) == 5
    docker_cli(engine, "rmi", f"{proxy.host}/t/big:v1")
    assert _state(engine.root) == ([], [], [])


def test_corrupted_blob_is_refused(engine: EngineHandle, proxy: RegistryProxy) -> None:
    before = _state(engine.root) if (engine.root / "images").exists() else None
    proxy.faults.corrupt = True
    try:
        done = docker_cli(engine, "pull", f"{proxy.host}/t/big:v1", check=False, timeout=120)
    finally:
        proxy.faults.corrupt = False
    assert done.returncode != 0
    line = done.stderr.strip()
    assert line.startswith("filesystem layer verification failed for digest sha256:"), done.stderr
    assert "\n" not in line
    assert docker_cli(engine, "images", "-q").stdout == ""
    blobs, ingest, snapshots = _state(engine.root)
    assert ingest == [] and snapshots == [] and blobs == (before[0] if before else []), (blobs, snapshots)
    # Through the API: the error ends a stream that had begun (200), as dockerd writes it.
    proxy.faults.corrupt = True
    try:
        status, raw = call(engine, "POST", f"/images/create?fromImage={proxy.host}/t/big&tag=v1")
    finally:
        proxy.faults.corrupt = False
    last = stream_lines(raw)[-1]
    assert status == 200 and set(last) == {"errorDetail", "error"}
    assert last["error"] == last["errorDetail"]["message"]
    assert last["error"].startswith("filesystem layer verification failed for digest sha256:")


def test_dropped_connection_resumes_with_range(engine: EngineHandle, proxy: RegistryProxy,
                                               registry: RegistryHandle) -> None:
    layers = _layer_digests(registry)
    proxy.faults.drop_once = {layers[1]}
    proxy.faults.range_requests.clear()
    out = docker_cli(engine, "pull", f"{proxy.host}/t/big:v1", timeout=120).stdout
    assert "Downloaded newer image" in out
    (asked,) = proxy.faults.range_requests  # one resume, from where the connection dropped
    assert asked.startswith("bytes=") and asked.endswith("-") and int(asked[6:-1]) > 0
    docker_cli(engine, "rmi", f"{proxy.host}/t/big:v1")
    assert _state(engine.root)[0] == []


def test_resume_when_range_is_ignored(engine: EngineHandle, proxy: RegistryProxy, registry: RegistryHandle) -> None:
    """A server that answers a Range request with the whole blob: the prefix is read again and dropped."""
    layers = _layer_digests(registry)
    proxy.faults.drop_once, proxy.faults.ignore_range = {layers[0]}, True
    proxy.faults.range_requests.clear()
    try:
        out = docker_cli(engine, "pull", f"{proxy.host}/t/big:v1", timeout=120).stdout
    finally:
        proxy.faults.ignore_range = False
    assert "Downloaded newer image" in out and len(proxy.faults.range_requests) == 1
    docker_cli(engine, "rmi", f"{proxy.host}/t/big:v1")
    assert _state(engine.root) == ([], [], [])


def test_client_gone_leaves_nothing(engine: EngineHandle, proxy: RegistryProxy) -> None:
    proxy.faults.rate = 8 * MB
    try:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.connect(str(engine.socket))
            conn.sendall(f"POST /images/create?fromImage={proxy.host}/t/big&tag=v1 HTTP/1.1\r\nHost: x\r\n"
                         "Content-Length: 0\r\n\r\n".encode())
            seen = b""
            while b"Downloading" not in seen:
                seen += conn.recv(65536)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            blobs, ingest, snapshots = _state(engine.root)
            if not ingest and not [s for s in snapshots if s.startswith(".")] and not blobs:
                break
            time.sleep(0.2)
        assert _state(engine.root) == ([], [], [])
        assert call(engine, "GET", f"/images/{proxy.host}/t/big:v1/json")[0] == 404
    finally:
        proxy.faults.rate = 0.0


@pytest.mark.timeout(240)
def test_engine_killed_mid_pull_then_pulled_whole(proxy: RegistryProxy, tmp_path: Path) -> None:
    place = tmp_path / "engine"
    first = start_private_engine(place)
    proxy.faults.rate = 8 * MB
    proxy.faults.served = 0
    def pull() -> None:
        with contextlib.suppress(OSError, http.client.HTTPException):  # the engine dies under it
            call(first, "POST", f"/images/create?fromImage={proxy.host}/t/big&tag=v1", timeout=60)

    puller = threading.Thread(target=pull, daemon=True)
    try:
        puller.start()
        deadline = time.monotonic() + 60
        while proxy.faults.served < 16 * MB and time.monotonic() < deadline:
            time.sleep(0.05)
        first.process.kill()
        first.process.wait(10)
    finally:
        proxy.faults.rate = 0.0
        if first.process.poll() is None:
            first.process.kill()
            first.process.wait()
        if first._socket_dir is not None:
            import shutil

            shutil.rmtree(first._socket_dir, ignore_errors=True)
    puller.join(30)
    second = start_private_engine(place)
    try:
        assert docker_cli(second, "images", "-q").stdout == ""
        out = docker_cli(second, "pull", f"{proxy.host}/t/big:v1", timeout=120).stdout
        assert "Downloaded newer image" in out
        (image,) = json.loads(docker_cli(second, "image", "inspect", f"{proxy.host}/t/big:v1").stdout)
        blobs, ingest, snapshots = _state(second.root)
        expected = {image["Id"][7:]} | {d[7:] for d in image["RepoDigests"][0].split("@")[1:]}
        assert ingest == [] and len(snapshots) == 3
        assert expected <= set(blobs) and len(blobs) == 5, blobs  # config, manifest, 3 layers
        done = docker_cli(second, "run", "--rm", f"{proxy.host}/t/big:v1", "true", check=False)
        assert done.returncode in (0, 127), done.stderr  # the image has no shell: only the mount matters
    finally:
        stop_engine(second)
        stop_supervisor(place / "root")
