"""`docker cp` out of containers on the private engine (GET/HEAD /containers/{id}/archive): running and stopped,
through volumes and bind mounts, symlinks as dockerd sends them; docker-py's get_archive and put_archive."""

from __future__ import annotations

import io
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine_fixture import EngineHandle
from tests.runtime.api.containers_env import docker_env, private_engine, run
from tests.runtime.api.containers_env import run_text as _cli

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]
__all__ = ["docker_env", "private_engine"]


def _name() -> str:
    return f"co{uuid.uuid4().hex[:10]}"


@pytest.fixture
def running(docker_env: dict[str, str]) -> Iterator[str]:
    name = _name()
    _cli(docker_env, "run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "300")
    try:
        yield name
    finally:
        _cli(docker_env, "rm", "-f", name, check=False)


def test_cp_out_of_a_running_container(docker_env: dict[str, str], running: str, tmp_path: Path) -> None:
    _cli(docker_env, "exec", running, "sh", "-c",
         "mkdir -p /tmp/d/sub && echo one > /tmp/d/a && echo two > /tmp/d/sub/b && ln -s a /tmp/d/l")
    _cli(docker_env, "cp", f"{running}:/tmp/d/a", str(tmp_path / "a.txt"))
    assert (tmp_path / "a.txt").read_text() == "one\n"
    _cli(docker_env, "cp", f"{running}:/tmp/d", str(tmp_path / "copy"))
    assert (tmp_path / "copy" / "sub" / "b").read_text() == "two\n"
    assert (tmp_path / "copy" / "l").is_symlink() and (tmp_path / "copy" / "l").readlink() == Path("a")
    _cli(docker_env, "cp", "-L", f"{running}:/tmp/d/l", str(tmp_path / "followed"))
    assert not (tmp_path / "followed").is_symlink() and (tmp_path / "followed").read_text() == "one\n"
    missing = _cli(docker_env, "cp", f"{running}:/no/such", str(tmp_path / "x"), check=False)
    assert missing.returncode != 0 and "Could not find the file /no/such in container" in missing.stderr
    _cli(docker_env, "cp", f"{running}:/tmp/d/a", "-")  # a tar on stdout
    shown = run(docker_env, "cp", f"{running}:/tmp/d/.", "-").stdout
    with tarfile.open(fileobj=io.BytesIO(shown)) as tar:
        assert {"./a", "./sub/b"} <= {m.name for m in tar.getmembers()}


def test_cp_out_of_a_stopped_container_through_a_volume(docker_env: dict[str, str], tmp_path: Path) -> None:
    volume, name = _name(), _name()
    _cli(docker_env, "volume", "create", volume)
    try:
        _cli(docker_env, "run", "--name", name, "--network", "none", "-v", f"{volume}:/data", "busybox", "sh", "-c",
             "echo in-volume > /data/v.txt && echo in-layer > /etc/l.txt")
        _cli(docker_env, "cp", f"{name}:/data/v.txt", str(tmp_path / "v.txt"))
        _cli(docker_env, "cp", f"{name}:/etc/l.txt", str(tmp_path / "l.txt"))
        assert (tmp_path / "v.txt").read_text() == "in-volume\n"
        assert (tmp_path / "l.txt").read_text() == "in-layer\n"
        # Running again: the volume as mounted in the container, not what lies beneath it.
        _cli(docker_env, "start", name)
        _cli(docker_env, "cp", f"{name}:/data/v.txt", str(tmp_path / "v2.txt"))
        assert (tmp_path / "v2.txt").read_text() == "in-volume\n"
    finally:
        _cli(docker_env, "rm", "-f", name, check=False)
        _cli(docker_env, "volume", "rm", volume, check=False)


def test_cp_out_of_a_bind_mount(docker_env: dict[str, str], tmp_path: Path) -> None:
    shared, name = tmp_path / "shared", _name()
    shared.mkdir()
    (shared / "h.txt").write_text("from the host\n")
    _cli(docker_env, "create", "--name", name, "--network", "none", "-v", f"{shared}:/mnt/b", "busybox", "true")
    try:
        _cli(docker_env, "cp", f"{name}:/mnt/b/h.txt", str(tmp_path / "out.txt"))
        assert (tmp_path / "out.txt").read_text() == "from the host\n"
    finally:
        _cli(docker_env, "rm", "-f", name, check=False)


def test_docker_py_get_and_put_archive(private_engine: EngineHandle, running: str) -> None:
    import docker

    client = docker.DockerClient(base_url=private_engine.host)
    try:
        container = client.containers.get(running)
        data = io.BytesIO()
        with tarfile.open(fileobj=data, mode="w") as tar:
            info = tarfile.TarInfo("hello.txt")
            info.size = 6
            tar.addfile(info, io.BytesIO(b"hello\n"))
        assert container.put_archive("/tmp", data.getvalue())
        chunks, found = container.get_archive("/tmp/hello.txt")
        assert found["name"] == "hello.txt" and found["size"] == 6 and found["linkTarget"] == ""
        assert found["mode"] == 0o644
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
            member = tar.extractfile("hello.txt")
            assert member is not None and member.read() == b"hello\n"
        with pytest.raises(docker.errors.NotFound):
            container.get_archive("/tmp/none")
        found = client.api.get_archive(running, "/tmp")[1]
        assert found["mode"] & (1 << 31)  # Go's os.ModeDir
    finally:
        client.close()
