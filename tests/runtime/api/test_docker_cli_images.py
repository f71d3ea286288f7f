"""Issue 3 through real Docker clients: the docker CLI and docker-py 7 against a private engine.

One test per command; busybox comes from Debian's busybox-static
(tests/runtime/images/busybox.py). The last test kills the engine with
SIGKILL in the middle of a large `docker load` and checks what a restart
on the same root finds: the image whole or absent, and after a prune no
blob left behind.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker as docker_py
import pytest

from tests.compose.cli.engines import DOCKER, busybox_engine, docker_cli, docker_py_client, stop_engine, stop_supervisor
from tests.engine_fixture import EngineHandle, start_private_engine

pytestmark = pytest.mark.root

BIG_LAYER = 150 * 1024 * 1024


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EngineHandle, Path]]:
    with busybox_engine(tmp_path_factory.mktemp("docker-cli-images")) as made:
        yield made


@pytest.fixture
def engine(setup: tuple[EngineHandle, Path]) -> EngineHandle:
    return setup[0]


def docker(handle: EngineHandle, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return docker_cli(handle, *args, check=check, timeout=120)


def busybox_id(handle: EngineHandle) -> str:
    return docker(handle, "image", "inspect", "-f", "{{.Id}}", "busybox").stdout.strip()


@pytest.fixture
def client(engine: EngineHandle) -> Iterator[Any]:
    with docker_py_client(engine) as api:
        yield api


# the docker CLI


def test_docker_version(engine: EngineHandle) -> None:
    text = docker(engine, "version").stdout
    assert "Server: pycompose engine" in text and "API version:      1.45" in text


def test_docker_info(engine: EngineHandle) -> None:
    text = docker(engine, "info").stdout
    assert f"Docker Root Dir: {engine.root}" in text
    images = json.loads(docker(engine, "info", "--format", "{{json .}}").stdout)["Images"]
    assert images >= 1


def test_docker_images(engine: EngineHandle) -> None:
    lines = docker(engine, "images").stdout.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    row = next(line.split() for line in lines[1:] if line.startswith("busybox "))
    assert row[:3] == ["busybox", "latest", busybox_id(engine)[7:19]]


def test_docker_image_inspect_busybox(engine: EngineHandle) -> None:
    (data,) = json.loads(docker(engine, "image", "inspect", "busybox").stdout)
    assert data["RepoTags"][0] == "busybox:latest" and data["Config"]["Cmd"] == ["sh"]
    assert data["Os"] == "linux" and data["RootFS"]["Type"] == "layers" and len(data["RootFS"]["Layers"]) == 1


def test_docker_history_busybox(engine: EngineHandle) -> None:
    lines = docker(engine, "history", "busybox").stdout.splitlines()
    assert lines[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    assert lines[1].startswith(busybox_id(engine)[7:19])
    assert lines[1].split()[-1] == "-"  # "Imported from -"


def test_docker_tag(engine: EngineHandle) -> None:
    docker(engine, "tag", "busybox", "x:1")
    try:
        tags = json.loads(docker(engine, "image", "inspect", "-f", "{{json .RepoTags}}", "x:1").stdout)
        assert sorted(tags) == ["busybox:latest", "x:1"]
    finally:
        docker(engine, "rmi", "x:1", check=False)


def test_docker_rmi(engine: EngineHandle) -> None:
    docker(engine, "tag", "busybox", "x:1")
    assert docker(engine, "rmi", "x:1").stdout == "Untagged: x:1\n"
    assert docker(engine, "image", "inspect", "busybox").returncode == 0
    gone = docker(engine, "rmi", "x:1", check=False)
    assert gone.returncode == 1 and "No such image: x:1" in gone.stderr


def test_docker_save(engine: EngineHandle, tmp_path: Path) -> None:
    archive = tmp_path / "x.tar"
    docker(engine, "save", "-o", str(archive), "busybox")
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        names = set(tar.getnames())
    assert manifest[0]["RepoTags"] == ["busybox:latest"]
    assert manifest[0]["Config"] in names and all(layer in names for layer in manifest[0]["Layers"])


def test_docker_load(engine: EngineHandle, tmp_path: Path) -> None:
    archive = tmp_path / "x.tar"
    docker(engine, "tag", "busybox", "loaded:1")
    docker(engine, "save", "-o", str(archive), "loaded:1")
    docker(engine, "rmi", "loaded:1")
    assert docker(engine, "load", "-i", str(archive)).stdout == "Loaded image: loaded:1\n"
    assert docker(engine, "image", "inspect", "-f", "{{.Id}}", "loaded:1").stdout.strip() == busybox_id(engine)
    docker(engine, "rmi", "loaded:1")


def test_docker_image_prune(engine: EngineHandle, setup: tuple[EngineHandle, Path]) -> None:
    with open(setup[1], "rb") as rootfs:
        result = subprocess.run([DOCKER or "docker", "import", "-c", "LABEL dangling=yes", "-"], stdin=rootfs,
                                env={"PATH": os.environ.get("PATH", ""), **engine.docker_env},
                                capture_output=True, text=True, timeout=60, check=True)
    dangling = result.stdout.strip()
    out = docker(engine, "image", "prune", "-f").stdout
    assert out.startswith(f"Deleted Images:\ndeleted: {dangling}\n")
    assert "Total reclaimed space:" in out
    assert docker(engine, "image", "inspect", dangling, check=False).returncode == 1
    assert docker(engine, "image", "inspect", "busybox").returncode == 0


# docker-py 7


def test_docker_py_ping(client: Any) -> None:
    assert client.ping() is True


def test_docker_py_version(client: Any) -> None:
    version = client.version()
    assert version["ApiVersion"] == "1.45" and version["MinAPIVersion"] == "1.24"
    assert version["Components"][0]["Name"] == "Engine"


def test_docker_py_images_list(client: Any) -> None:
    tags = [t for image in client.images.list() for t in image.tags]
    assert "busybox:latest" in tags
    assert [i.tags for i in client.images.list(name="busybox")] == [["busybox:latest"]]


def test_docker_py_images_get(client: Any, engine: EngineHandle) -> None:
    image = client.images.get("busybox")
    assert image.id == busybox_id(engine) and image.attrs["Config"]["Cmd"] == ["sh"]
    assert image.history()[0]["Id"] == image.id
    with pytest.raises(docker_py.errors.ImageNotFound):
        client.images.get("no/such:image")


def test_docker_py_images_load(client: Any) -> None:
    client.images.get("busybox").tag("pyload", "1")
    data = b"".join(client.images.get("pyload:1").save(named="pyload:1"))
    client.images.remove("pyload:1")
    (loaded,) = client.images.load(data)
    assert loaded.id == client.images.get("busybox").id and "pyload:1" in loaded.tags
    client.images.remove("pyload:1")


def test_docker_py_image_save(client: Any) -> None:
    image = client.images.get("busybox")
    data = b"".join(image.save(chunk_size=65536, named=True))
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest[0]["RepoTags"] == ["busybox:latest"]


# a crash in the middle of a load


def write_big_archive(path: Path, size: int = BIG_LAYER) -> str:
    """A docker-archive `big:1` with one incompressible layer of `size` bytes; returns its diff ID."""
    layer = path.with_suffix(".layer")
    rng = random.Random(7)
    with tarfile.open(layer, "w") as tar:
        info = tarfile.TarInfo("big.bin")
        info.size = size
        tar.addfile(info, _RandomReader(rng, size))
    digest = hashlib.sha256()
    with open(layer, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    diff_id = "sha256:" + digest.hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                         "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "test"}]}).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": ["big:1"], "Layers": ["layer/layer.tar"]}]).encode()
    with tarfile.open(path, "w") as tar:
        for name, data in ((config_name, config), ("manifest.json", manifest)):
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
        tar.add(layer, "layer/layer.tar")
    layer.unlink()
    return diff_id


class _RandomReader(io.RawIOBase):
    def __init__(self, rng: random.Random, size: int) -> None:
        self._rng, self._left = rng, size

    def read(self, n: int = -1) -> bytes:
        n = self._left if n < 0 else min(n, self._left)
        self._left -= n
        return self._rng.randbytes(n)


def _files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


@pytest.mark.timeout(180)
def test_engine_killed_while_loading_recovers(tmp_path: Path) -> None:
    archive = tmp_path / "big.tar"
    diff_id = write_big_archive(archive)
    place = tmp_path / "engine"
    first = start_private_engine(place)
    loader = None
    try:
        loader = subprocess.Popen([DOCKER or "docker", "load", "-i", str(archive)],
                                  env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
                                       **first.docker_env},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.5)
        first.process.kill()
        first.process.wait(10)
        loader.communicate(timeout=60)
    finally:
        if first.process.poll() is None:
            first.process.kill()
            first.process.wait()
        if loader is not None and loader.poll() is None:
            loader.kill()
            loader.wait()
        if first._socket_dir is not None:
            shutil.rmtree(first._socket_dir, ignore_errors=True)
    assert first.process.returncode == -9

    second = start_private_engine(place)
    try:
        assert second.root == first.root
        listed = docker(second, "images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
        if "big:1" in listed:  # whole, or not at all
            (data,) = json.loads(docker(second, "image", "inspect", "big:1").stdout)
            assert data["RootFS"]["Layers"] == [diff_id]
            upper = Path(data["GraphDriver"]["Data"]["UpperDir"])
            assert (upper / "big.bin").stat().st_size == BIG_LAYER
        else:
            assert docker(second, "image", "inspect", "big:1", check=False).returncode == 1
        docker(second, "image", "prune", "-a", "-f")
        assert docker(second, "images", "-q").stdout == ""
        blobs = second.root / "images" / "blobs"
        assert _files(blobs) == [], "blobs no image references are left behind"
    finally:
        stop_engine(second)
        stop_supervisor(place / "root")
