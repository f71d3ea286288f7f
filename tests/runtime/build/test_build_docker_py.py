"""docker-py's `images.build()`, `POST /build/prune`, and a cache that outlives the engine."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker as docker_py
import pytest

from tests.compose.cli.engines import engine_with_busybox, stop_engine
from tests.engine_fixture import EngineHandle, start_private_engine
from tests.runtime.build.clients import docker, steps, write

pytestmark = pytest.mark.root


@pytest.fixture
def client(engine: EngineHandle) -> Iterator[Any]:
    api = docker_py.DockerClient(base_url=engine.host, version="auto")
    try:
        yield api
    finally:
        api.close()


def test_docker_py_build(client: Any, busybox: str, tmp_path: Path) -> None:
    ctx = write(tmp_path, {"Dockerfile": "FROM busybox AS first\nARG WORD=default\nRUN sleep 2 && echo $WORD > /word\n"
                                         "FROM first\nLABEL kind=py\nCMD [\"cat\", \"/word\"]\n"})
    image, logs = client.images.build(path=str(ctx), tag="pybuilt:1", buildargs={"WORD": "given"}, rm=True,
                                      labels={"by": "docker-py"}, shmsize=64 * 1024 * 1024,
                                      container_limits={"memory": 256 * 1024 * 1024})
    lines = list(logs)
    assert any(line.get("aux", {}).get("ID") == image.id for line in lines), lines
    assert image.tags == ["pybuilt:1"] and image.labels == {"kind": "py", "by": "docker-py"}
    assert client.containers.run("pybuilt:1", remove=True) == b"given\n"
    fileobj = io.BytesIO(b"FROM busybox\nRUN echo from-fileobj > /f\n")
    other, _ = client.images.build(fileobj=fileobj, tag="pybuilt:2")
    assert client.containers.run(other.id, ["cat", "/f"], remove=True) == b"from-fileobj\n"
    with pytest.raises(docker_py.errors.BuildError) as failed:
        client.images.build(fileobj=io.BytesIO(b"FROM busybox\nRUN exit 7\n"), forcerm=True)
    assert "returned a non-zero code: 7" in str(failed.value)


def test_prune_drops_the_cache_and_its_images(engine: EngineHandle, client: Any, busybox: str,
                                              tmp_path: Path) -> None:
    ctx = write(tmp_path, {"Dockerfile": "FROM busybox\nRUN echo pruned > /p\nENV X=1\nRUN echo more > /m\n"})
    docker(engine, "build", "-t", "prunable", str(ctx))
    assert all(cached for t, cached in steps(docker(engine, "build", str(ctx)).stdout) if not t.startswith("FROM"))
    loose = write(tmp_path / "loose", {"Dockerfile": "FROM busybox\nRUN head -c 100000 /dev/urandom > /r\n"})
    dangling = docker(engine, "build", "-q", str(loose)).stdout.strip()
    before = set(docker(engine, "images", "-aq", "--no-trunc").stdout.split())
    report = client.api.prune_builds()
    assert report["CachesDeleted"] and report["SpaceReclaimed"] >= 100000, report
    after = set(docker(engine, "images", "-aq", "--no-trunc").stdout.split())
    tagged = docker(engine, "image", "inspect", "-f", "{{.Id}}", "prunable").stdout.strip()
    assert tagged in after and dangling in before and dangling not in after
    assert tagged in after and len(after) < len(before)
    rebuilt = steps(docker(engine, "build", str(ctx)).stdout)
    assert not any(cached for _, cached in rebuilt), rebuilt
    cli = docker(engine, "builder", "prune", "-f")
    assert "Total reclaimed space" in cli.stdout, cli.stdout


def test_cache_survives_an_engine_restart(tmp_path: Path) -> None:
    handle, _rootfs = engine_with_busybox(tmp_path / "own")
    ctx = write(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo kept > /k\nCMD [\"cat\", \"/k\"]\n"})
    try:
        docker(handle, "build", "-t", "kept", str(ctx))
    finally:
        stop_engine(handle)
    again = start_private_engine(tmp_path / "own" / "engine")
    try:
        marks = steps(docker(again, "build", "-t", "kept", str(ctx)).stdout)
        assert [cached for _, cached in marks] == [False, True, True], marks
        assert docker(again, "run", "--rm", "kept").stdout == "kept\n"
    finally:
        stop_engine(again)


def test_image_prune_keeps_the_parents_of_tagged_builds(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    ctx = write(tmp_path, {"Dockerfile": "FROM busybox\nRUN echo keep > /k\nENV K=1\nRUN echo more > /m\n"})
    docker(engine, "build", "-t", "kept-chain", str(ctx))
    loose = write(tmp_path / "loose", {"Dockerfile": "FROM busybox\nRUN echo loose > /l\nENV L=1\n"})
    dangling = docker(engine, "build", "-q", str(loose)).stdout.strip()
    pruned = docker(engine, "image", "prune", "-f").stdout
    assert dangling.removeprefix("sha256:") in pruned, pruned
    marks = steps(docker(engine, "build", "-t", "kept-chain", str(ctx)).stdout)
    assert [cached for _, cached in marks] == [False, True, True, True], marks


def test_rmi_takes_a_built_chain_and_refuses_a_parent(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    before = set(docker(engine, "images", "-aq", "--no-trunc").stdout.split())
    ctx = write(tmp_path, {"Dockerfile": "FROM busybox\nRUN echo chain > /c\nENV C=1\nRUN echo end > /e\n"})
    docker(engine, "build", "-t", "chained", str(ctx))
    made = set(docker(engine, "images", "-aq", "--no-trunc").stdout.split()) - before
    assert len(made) == 3, made
    final = docker(engine, "image", "inspect", "-f", "{{.Id}}", "chained").stdout.strip()
    parent = docker(engine, "image", "inspect", "-f", "{{.Parent}}", "chained").stdout.strip()
    refused = docker(engine, "rmi", parent, check=False)
    assert refused.returncode != 0 and "image has dependent child images" in refused.stderr, refused.stderr
    out = docker(engine, "rmi", "chained").stdout.split()
    assert out[:2] == ["Untagged:", "chained:latest"] and f"Deleted: {final}" in " ".join(out)
    assert set(docker(engine, "images", "-aq", "--no-trunc").stdout.split()) == before


@pytest.mark.parametrize("kind", ["bz2", "xz"])
def test_compressed_contexts(client: Any, busybox: str, kind: str) -> None:
    import bz2
    import lzma
    import tarfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in (("Dockerfile", b"FROM busybox\nCOPY f /f\n"), ("f", kind.encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    packed = bz2.compress(raw.getvalue()) if kind == "bz2" else lzma.compress(raw.getvalue())
    image, _ = client.images.build(fileobj=io.BytesIO(packed), custom_context=True, tag=f"ctx-{kind}")
    assert client.containers.run(image.id, ["cat", "/f"], remove=True) == kind.encode()
