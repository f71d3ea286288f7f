"""A private engine with a busybox image, for the container tests that drive real Docker clients."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.compose.cli.engines import cli_env
from tests.engine_fixture import EngineHandle, start_private_engine
from tests.runtime.images.busybox import build_busybox_rootfs_tar, busybox_available

DOCKER = shutil.which("docker")


@pytest.fixture(scope="module")
def private_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineHandle]:
    if not busybox_available():
        pytest.skip("busybox-static is not installed")
    handle = start_private_engine(tmp_path_factory.mktemp("engine"))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def docker_env(private_engine: EngineHandle, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if DOCKER is None:
        pytest.skip("no docker CLI on PATH")
    home = tmp_path_factory.mktemp("home")
    env = cli_env(home, private_engine)
    import_busybox(env, home)
    return env


def import_busybox(env: dict[str, str], where: Path) -> None:
    """`docker import` a busybox root file system as `busybox:latest` (CMD sh); the tar is built in `where`."""
    tar = busybox_tar(where)
    run(env, "import", "-c", 'CMD ["sh"]', str(tar), "busybox:latest")
    tar.unlink()


def run(env: dict[str, str], *args: str, check: bool = True, stdin: bytes | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    assert DOCKER is not None
    result = subprocess.run([DOCKER, *args], env=env, input=stdin, capture_output=True, timeout=timeout,
                            check=False)
    if check:
        assert result.returncode == 0, (args, result.stderr.decode())
    return result


def run_text(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`run` with its output decoded."""
    done = run(env, *args, check=check)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def out(env: dict[str, str], *args: str) -> str:
    return run(env, *args).stdout.decode()


def inspect(env: dict[str, str], name: str) -> dict[str, object]:
    data: list[dict[str, object]] = json.loads(out(env, "container", "inspect", name))
    return data[0]


def eventually(condition: Callable[[], bool], timeout: float = 10.0, show: Callable[[], str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"condition not met in time{': ' + show() if show else ''}"
        time.sleep(0.05)


def no_containers_left(env: dict[str, str]) -> None:
    assert out(env, "ps", "-aq").strip() == ""


def remove_all_containers(env: dict[str, str]) -> None:
    leftovers = out(env, "ps", "-aq").split()
    if leftovers:
        run(env, "rm", "-f", *leftovers, check=False)


@pytest.fixture(name="client")
def docker_py_client(private_engine: EngineHandle, docker_env: dict[str, str]) -> Iterator[Any]:
    """A docker-py client of the module's engine; the containers it leaves are removed after the test."""
    import docker as docker_py

    client = docker_py.DockerClient(base_url=private_engine.host)
    try:
        yield client
    finally:
        for container in client.containers.list(all=True):
            container.remove(force=True)
        assert client.containers.list(all=True) == []
        client.close()


@pytest.fixture
def env(docker_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """The module's engine, left without containers after each test (and checked to be so)."""
    yield docker_env
    remove_all_containers(docker_env)
    no_containers_left(docker_env)


def busybox_tar(where: Path) -> Path:
    return build_busybox_rootfs_tar(where / "busybox.tar")
