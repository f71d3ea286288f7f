"""Real Docker clients against a private engine: the docker CLI and docker-py."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker as docker_py
import pytest

from tests.compose.cli.engines import cli_env
from tests.engine_fixture import EngineHandle, start_private_engine

DOCKER = shutil.which("docker")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineHandle]:
    handle = start_private_engine(tmp_path_factory.mktemp("engine"))
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def docker_env(engine: EngineHandle, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return cli_env(tmp_path_factory.mktemp("home"), engine)


def docker(env: dict[str, str], *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    if DOCKER is None:
        pytest.skip("no docker CLI on PATH")
    result = subprocess.run([DOCKER, *args], env=env, input=stdin, capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr.decode()
    return result


def rootfs_tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_docker_version_negotiates_and_shows_our_engine(docker_env: dict[str, str]) -> None:
    text = docker(docker_env, "version").stdout.decode()
    assert "Server: pycompose engine" in text
    assert "API version:      1.45 (minimum version 1.24)" in text
    data = json.loads(docker(docker_env, "version", "--format", "{{json .}}").stdout)
    assert data["Client"]["ApiVersion"] == "1.45"  # downgraded from the client's own
    assert data["Server"]["ApiVersion"] == "1.45"
    assert data["Server"]["Components"][0]["Details"]["MinAPIVersion"] == "1.24"


def test_docker_info_prints_our_values(engine: EngineHandle, docker_env: dict[str, str]) -> None:
    result = docker(docker_env, "info")
    text = result.stdout.decode()
    assert b"ERROR" not in result.stderr and "errors pretty printing" not in text
    assert "Storage Driver: overlay2" in text and "Cgroup Driver: cgroupfs" in text
    assert f"Docker Root Dir: {engine.root}" in text
    info = json.loads(docker(docker_env, "info", "--format", "{{json .}}").stdout)
    assert info["ID"] == engine.prefix[3:]
    assert info["OSType"] == "linux" and info["NCPU"] >= 1 and info["MemTotal"] > 0
    assert info["CgroupVersion"] in ("1", "2")


def test_docker_py_ping_version_info(engine: EngineHandle) -> None:
    client = docker_py.DockerClient(base_url=engine.host)
    try:
        assert client.ping() is True
        assert client.version()["ApiVersion"] == "1.45"
        assert client.api.api_version == "1.45"
        assert client.info()["DockerRootDir"] == str(engine.root)
    finally:
        client.close()


def test_docker_cli_image_round_trip(docker_env: dict[str, str], tmp_path: Path) -> None:
    env = docker_env
    tar = rootfs_tar({"hello.txt": b"hi\n", "etc/os-release": b"ID=test\n"})
    image_id = docker(env, "import", "-c", "CMD [\"/hello\"]", "-m", "by test", "-", "cli/round:1",
                      stdin=tar).stdout.decode().strip()
    assert image_id.startswith("sha256:")
    assert "cli/round" in docker(env, "images").stdout.decode()
    assert b"by test" in docker(env, "history", "cli/round:1").stdout
    docker(env, "tag", "cli/round:1", "cli/other:2")
    inspected = json.loads(docker(env, "image", "inspect", "cli/other:2").stdout)[0]
    assert inspected["Id"] == image_id
    assert sorted(inspected["RepoTags"]) == ["cli/other:2", "cli/round:1"]
    assert inspected["Config"]["Cmd"] == ["/hello"]
    archive = tmp_path / "saved.tar"
    docker(env, "save", "-o", str(archive), "cli/round:1", "cli/other:2")
    with tarfile.open(archive) as saved:
        assert "manifest.json" in saved.getnames()
    removed = docker(env, "rmi", "cli/round:1", "cli/other:2").stdout.decode()
    assert "Untagged: cli/round:1" in removed and f"Deleted: {image_id}" in removed
    loaded = docker(env, "load", "-i", str(archive)).stdout.decode()
    assert "Loaded image: cli/round:1" in loaded
    assert json.loads(docker(env, "image", "inspect", "cli/round:1").stdout)[0]["Id"] == image_id
    docker(env, "rmi", "cli/other:2")
    pruned = docker(env, "image", "prune", "-a", "-f").stdout.decode()
    assert image_id in pruned
    assert "cli/round" not in docker(env, "images").stdout.decode()


def test_docker_cli_reports_missing_image(docker_env: dict[str, str]) -> None:
    if DOCKER is None:
        pytest.skip("no docker CLI on PATH")
    result = subprocess.run([DOCKER, "image", "inspect", "no/such:image"], env=docker_env,
                            capture_output=True, timeout=60, check=False)
    assert result.returncode != 0
    assert b"No such image: no/such:image" in result.stderr


def test_docker_py_images(engine: EngineHandle) -> None:
    client = docker_py.DockerClient(base_url=engine.host)
    try:
        response: Any = client.api.import_image_from_data(rootfs_tar({"a": b"1"}), repository="py/img", tag="t")
        image = client.images.get("py/img:t")
        assert image.tags == ["py/img:t"]
        assert "py/img:t" in [t for i in client.images.list() for t in i.tags]
        data = b"".join(image.save(named=True))
        client.images.remove("py/img:t")
        with pytest.raises(docker_py.errors.ImageNotFound):
            client.images.get("py/img:t")
        (loaded,) = client.images.load(data)
        assert loaded.id == image.id
        client.images.remove(image.id, force=True)
        assert response
    finally:
        client.close()
