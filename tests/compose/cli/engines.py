"""Module-private engines for CLI tests: start one with busybox, stop it and its supervisor, and run
our CLI or docker's against it.

The image tests prune and remove images, so they cannot share the session
engine (other modules rely on its busybox). The supervisor outlives the
engine by design; a test that started an engine stops both.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.engine_fixture import EngineHandle, start_private_engine
from tests.runtime.images.busybox import build_busybox_rootfs_tar

PYCOMPOSE = str(Path(sys.executable).parent / "pycompose")
DOCKER = shutil.which("docker")


def stop_supervisor(root: Path) -> None:
    """The supervisor outlives its engine by design; a test that started an engine stops both."""
    try:
        pid = int((root / "supervisor.pid").read_text().split()[0])
        if str(root).encode() not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return  # a recycled pid, not ours
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError, IndexError):
        return
    for _ in range(100):
        if not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def stop_engine(handle: EngineHandle) -> None:
    try:
        handle.stop()
    finally:
        stop_supervisor(handle.root)


def engine_with_busybox(tmp: Path) -> tuple[EngineHandle, Path]:
    """A private engine with `busybox:latest` (CMD ["sh"]) imported; also returns the rootfs tar."""
    handle = start_private_engine(tmp / "engine")
    try:
        rootfs = build_busybox_rootfs_tar(tmp / "busybox-rootfs.tar")
        import_busybox(handle, rootfs)
    except BaseException:
        stop_engine(handle)
        raise
    return handle, rootfs


@contextmanager
def busybox_engine(tmp: Path) -> Iterator[tuple[EngineHandle, Path]]:
    """`engine_with_busybox` for a `with` block: the engine and its supervisor stop at the end."""
    handle, rootfs = engine_with_busybox(tmp)
    try:
        yield handle, rootfs
    finally:
        stop_engine(handle)


@contextmanager
def busybox_engine_in_tmp(prefix: str) -> Iterator[EngineHandle]:
    """`busybox_engine` in a folder of its own under /tmp, removed at the end (a `pyc-` prefix
    puts what the engine leaves behind in the leak check's view)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        with busybox_engine(tmp) as (handle, _):
            yield handle
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def remove_containers_then(handle: EngineHandle, *prune: str, volumes: bool = False) -> None:
    """After a test on a shared module engine: its containers go, then `docker <prune...>`."""
    leftovers = docker_out(handle, "ps", "-aq").split()
    if leftovers:
        docker_cli(handle, "rm", "-f", *(["-v"] if volumes else []), *leftovers)
    docker_cli(handle, *prune)


def import_busybox(handle: EngineHandle, rootfs: Path, ref: str = "busybox:latest") -> None:
    """Through docker-py, not our CLI: the CLI is what is under test."""
    import docker

    repo, _, tag = ref.partition(":")
    client = docker.DockerClient(base_url=handle.host)
    try:
        client.api.import_image(src=str(rootfs), repository=repo, tag=tag or "latest", changes=['CMD ["sh"]'])
    finally:
        client.close()


def environ(handle: EngineHandle, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp", "LANG": "C.UTF-8",
            **handle.docker_env, **(extra or {})}


def pycompose(handle: EngineHandle, *args: str, stdin: bytes | str | None = None,
              cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    result = subprocess.run([PYCOMPOSE, *args], env=environ(handle), input=data, capture_output=True,
                            timeout=60, check=False, cwd=cwd)
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode(errors="replace"),
                                       result.stderr.decode(errors="replace"))


def pycompose_bytes(handle: EngineHandle, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([PYCOMPOSE, *args], env=environ(handle), input=stdin, capture_output=True,
                          timeout=60, check=False)


def ok(handle: EngineHandle, *args: str, stdin: bytes | str | None = None) -> str:
    """Our CLI's stdout, the command having succeeded."""
    result = pycompose(handle, *args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return result.stdout


def cli_env(home: Path, handle: EngineHandle) -> dict[str, str]:
    """The docker CLI's environment for `handle` alone: its own HOME and config, no inherited DOCKER_*."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
            "DOCKER_CONFIG": str(home / ".docker"), **handle.docker_env}


def docker_cli(handle: EngineHandle, *args: str, check: bool = True,
               timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The docker CLI against `handle` (its HOME beside the engine's root); skips without a docker CLI."""
    if DOCKER is None:
        pytest.skip("no docker CLI on PATH")
    result = subprocess.run([DOCKER, *args], env=cli_env(handle.root.parent, handle), capture_output=True,
                            text=True, timeout=timeout, check=False)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def docker_out(handle: EngineHandle, *args: str) -> str:
    """What docker prints for a command that must succeed, to compare our CLI's output with."""
    return docker_cli(handle, *args).stdout


@contextmanager
def docker_py_client(handle: EngineHandle) -> Iterator[Any]:
    """docker-py's client on the engine (API version negotiated), closed when the block ends."""
    import docker

    api = docker.DockerClient(base_url=handle.host, version="auto")
    try:
        yield api
    finally:
        api.close()
