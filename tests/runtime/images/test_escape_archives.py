"""The escape suite for archives that reach the engine from outside: tar-slip (`../` names, an absolute symlink
and a file written through it, hard links out of the root) in `docker load`, `docker import`, a pulled layer and
`PUT /containers/{id}/archive`. Each must leave the host untouched: refused, or landed inside the image."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.compose.cli.registry_seed import seed_image
from tests.engine_fixture import EngineHandle
from tests.registry_fixture import RegistryHandle
from tests.runtime.api.containers_env import docker_env, private_engine, run
from tests.runtime.images.archives import Img, docker_archive, layer_tar

pytestmark = [pytest.mark.root, pytest.mark.timeout(180)]
__all__ = ["docker_env", "private_engine"]

UP = "../" * 12


def _cases(host: Path) -> dict[str, list[tuple[Any, ...]]]:
    climb = f"{UP}{str(host).lstrip('/')}"
    return {
        "dotdot": [(f"{UP}{str(host).lstrip('/')}/marker", "file", b"pwned")],
        "absolute-symlink-then-file": [("esc", "sym", str(host)), ("esc/marker", "file", b"pwned")],
        "relative-symlink-then-file": [("esc", "sym", climb), ("esc/marker", "file", b"pwned")],
        "hardlink-dotdot": [("hl", "hard", f"{UP}{str(host).lstrip('/')}/keep")],
        "hardlink-absolute": [("hl", "hard", f"{host}/keep")],
        "hardlink-through-symlink": [("esc", "sym", str(host)), ("hl", "hard", "esc/keep")],
    }


CASES = sorted(_cases(Path("/x")))


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Path]:
    """A host directory where an escape would land, with a file a hard link would share."""
    where = tmp_path / "host"
    where.mkdir()
    (where / "keep").write_text("keep\n")
    yield where
    assert sorted(os.listdir(where)) == ["keep"]
    assert (where / "keep").read_text() == "keep\n"
    assert os.stat(where / "keep").st_nlink == 1
    assert not Path("/marker").exists()


def _cli(env: dict[str, str], *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return run(env, *args, check=False, stdin=stdin)


def _remove(env: dict[str, str], ref: str) -> None:
    _cli(env, "rmi", "-f", ref)


def _try_the_image(env: dict[str, str], ref: str) -> None:
    """If the image was accepted, its container writes through what the layer made: still not the host."""
    if _cli(env, "image", "inspect", ref).returncode != 0:
        return
    _cli(env, "run", "--rm", "--network", "none", ref, "sh", "-c",
         "echo pwned > /hl; echo pwned > /esc/keep; echo pwned > /esc/marker2")


@pytest.mark.parametrize("case", CASES)
def test_docker_load_of_a_hostile_layer(docker_env: dict[str, str], host: Path, tmp_path: Path, case: str) -> None:
    busybox = docker_env_layer(docker_env, tmp_path)
    ref = f"slipload{uuid.uuid4().hex[:6]}:latest"
    archive = docker_archive([Img([busybox, layer_tar(_cases(host)[case])], [ref])])
    done = _cli(docker_env, "load", stdin=archive)
    try:
        _try_the_image(docker_env, ref)
        assert done.returncode != 0 and b"refusing" in done.stderr
    finally:
        _remove(docker_env, ref)


@pytest.mark.parametrize("case", CASES)
def test_docker_import_of_a_hostile_rootfs(docker_env: dict[str, str], host: Path, tmp_path: Path, case: str) -> None:
    ref = f"slipimport{uuid.uuid4().hex[:6]}:latest"
    done = _cli(docker_env, "import", "-", ref, stdin=layer_tar(_cases(host)[case]))
    _try_the_image(docker_env, ref)
    _remove(docker_env, ref)
    assert done.returncode != 0 and b"refusing" in done.stderr


@pytest.mark.parametrize("case", CASES)
def test_a_pulled_hostile_layer(docker_env: dict[str, str], registry: RegistryHandle, host: Path, tmp_path: Path,
                                case: str) -> None:
    repo = f"slip{uuid.uuid4().hex[:6]}"
    seed_image(registry.url, repo, "latest", [docker_env_layer(docker_env, tmp_path), layer_tar(_cases(host)[case])])
    ref = f"{registry.host}/{repo}:latest"
    done = _cli(docker_env, "pull", ref)
    try:
        _try_the_image(docker_env, ref)
        assert done.returncode != 0 and b"Pulling fs layer" in done.stdout and b"refusing" in done.stderr
    finally:
        _remove(docker_env, ref)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("state", ["running", "created"])
def test_put_archive_of_a_hostile_tar(private_engine: EngineHandle, docker_env: dict[str, str], host: Path,
                                      case: str, state: str) -> None:
    import docker

    name = f"slipput{uuid.uuid4().hex[:6]}"
    _cli(docker_env, *(["run", "-d"] if state == "running" else ["create"]), "--name", name, "--network", "none",
         "busybox", "sleep", "300")
    client = docker.APIClient(base_url=private_engine.host)
    try:
        try:
            client.put_archive(name, "/", layer_tar(_cases(host)[case]))
        except docker.errors.APIError as exc:
            assert exc.status_code == 400
        _cli(docker_env, "start", name)
        _cli(docker_env, "exec", name, "sh", "-c", "echo pwned > /hl; echo pwned > /esc/keep")
    finally:
        client.close()
        _cli(docker_env, "rm", "-f", name)


_BUSYBOX: dict[str, bytes] = {}


def docker_env_layer(env: dict[str, str], where: Path) -> bytes:
    """busybox's root file system as a layer (exported once from the engine's busybox image)."""
    if "layer" not in _BUSYBOX:
        name = f"bbexport{uuid.uuid4().hex[:6]}"
        assert _cli(env, "create", "--name", name, "busybox", "true").returncode == 0
        try:
            data = _cli(env, "export", name).stdout
        finally:
            _cli(env, "rm", "-f", name)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            assert "bin/sh" in tar.getnames()
        _BUSYBOX["layer"] = data
    return _BUSYBOX["layer"]
