"""`PUT`/`HEAD /containers/{id}/archive` through docker-py and `docker cp`, before and after start."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from tests.engine_fixture import EngineHandle
from tests.runtime.api.containers_env import docker_env, out, private_engine, run

pytestmark = [pytest.mark.root, pytest.mark.timeout(90)]
__all__ = ["docker_env", "private_engine"]


def _tar(name: str, content: bytes, mode: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(content), mode
        tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def test_docker_py_put_archive_before_start(private_engine: EngineHandle, docker_env: dict[str, str]) -> None:
    import docker

    client = docker.APIClient(base_url=private_engine.host)
    created = client.create_container("busybox", ["sleep", "60"], host_config=client.create_host_config(
        network_mode="none"))
    try:
        assert client.put_archive(created["Id"], "/", _tar("run/secrets/token", b"s3cret", 0o400))
        with pytest.raises(docker.errors.NotFound):
            client.put_archive(created["Id"], "/no/such/dir", _tar("x", b"x", 0o644))
        client.start(created["Id"])
        shown = client.exec_create(created["Id"], ["stat", "-c", "%a %U", "/run/secrets/token"])
        assert client.exec_start(shown["Id"]) == b"400 root\n"
        cat = client.exec_create(created["Id"], ["cat", "/run/secrets/token"])
        assert client.exec_start(cat["Id"]) == b"s3cret"
        mode = client.exec_create(created["Id"], ["stat", "-c", "%a", "/tmp"])
        assert client.exec_start(mode["Id"]) == b"1777\n"
    finally:
        client.remove_container(created["Id"], force=True)
        client.close()


def test_docker_cp_into_a_running_container(docker_env: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "app.conf"
    source.write_text("key=value\n")
    run(docker_env, "run", "-d", "--name", "cptarget", "--network", "none", "busybox", "sleep", "60")
    try:
        run(docker_env, "cp", str(source), "cptarget:/etc/app.conf")
        assert out(docker_env, "exec", "cptarget", "cat", "/etc/app.conf") == "key=value\n"
        run(docker_env, "cp", str(source), "cptarget:/tmp/")
        assert out(docker_env, "exec", "cptarget", "cat", "/tmp/app.conf") == "key=value\n"
        assert run(docker_env, "cp", str(source), "cptarget:/nowhere/at/all/", check=False).returncode != 0
    finally:
        run(docker_env, "rm", "-f", "cptarget")
