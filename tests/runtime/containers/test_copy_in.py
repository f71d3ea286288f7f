"""`docker cp` into containers on the private engine: seen at once, into volumes and binds, never outside."""

from __future__ import annotations

import io
import os
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine_fixture import EngineHandle
from tests.runtime.api.containers_env import docker_env, private_engine
from tests.runtime.api.containers_env import run_text as _cli

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]
__all__ = ["docker_env", "private_engine"]


def _name() -> str:
    return f"cp{uuid.uuid4().hex[:10]}"


def _cat(docker_env: dict[str, str], container: str, path: str) -> str:
    return _cli(docker_env, "exec", container, "cat", path).stdout


@pytest.fixture
def running(docker_env: dict[str, str]) -> Iterator[str]:
    name = _name()
    _cli(docker_env, "run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "300")
    try:
        yield name
    finally:
        _cli(docker_env, "rm", "-f", name, check=False)


def test_a_file_copied_into_a_running_container_is_seen_at_once(docker_env: dict[str, str], running: str,
                                                                 tmp_path: Path) -> None:
    source = tmp_path / "late.txt"
    source.write_text("hello\n")
    # The container looks the name up first: the kernel caches the miss, a write behind its back stays unseen.
    assert _cli(docker_env, "exec", running, "cat", "/tmp/late.txt", check=False).returncode != 0
    _cli(docker_env, "cp", str(source), f"{running}:/tmp/late.txt")
    assert _cat(docker_env, running, "/tmp/late.txt") == "hello\n"
    _cli(docker_env, "cp", str(source), f"{running}:/etc/")
    assert _cat(docker_env, running, "/etc/late.txt") == "hello\n"
    assert _cli(docker_env, "cp", str(source), f"{running}:/no/such/dir/", check=False).returncode != 0


def test_copy_into_a_paused_container(docker_env: dict[str, str], running: str, tmp_path: Path) -> None:
    source = tmp_path / "p.txt"
    source.write_text("while paused\n")
    _cli(docker_env, "pause", running)
    try:
        _cli(docker_env, "cp", str(source), f"{running}:/tmp/p.txt")
    finally:
        _cli(docker_env, "unpause", running)
    assert _cat(docker_env, running, "/tmp/p.txt") == "while paused\n"


def test_copy_into_a_named_volume_lands_in_the_volume(docker_env: dict[str, str], tmp_path: Path) -> None:
    volume, first = _name(), _name()
    source = tmp_path / "v.txt"
    source.write_text("in the volume\n")
    _cli(docker_env, "volume", "create", volume)
    try:
        _cli(docker_env, "run", "-d", "--name", first, "--network", "none", "-v", f"{volume}:/data", "busybox",
                   "sleep", "300")
        _cli(docker_env, "exec", first, "mkdir", "/data/sub")  # only in the volume: the stat must see it
        _cli(docker_env, "cp", str(source), f"{first}:/data/sub/")
        assert _cat(docker_env, first, "/data/sub/v.txt") == "in the volume\n"
        _cli(docker_env, "rm", "-f", first)
        seen = _cli(docker_env, "run", "--rm", "--network", "none", "-v", f"{volume}:/data", "busybox",
                          "cat", "/data/sub/v.txt")
        assert seen.stdout == "in the volume\n"
    finally:
        _cli(docker_env, "rm", "-f", first, check=False)
        _cli(docker_env, "volume", "rm", volume, check=False)


def test_copy_into_a_stopped_container_under_a_volume(docker_env: dict[str, str], tmp_path: Path) -> None:
    volume, created = _name(), _name()
    source = tmp_path / "s.txt"
    source.write_text("before start\n")
    tree = tmp_path / "tree"
    (tree / "data" / "deep").mkdir(parents=True)
    (tree / "data" / "deep" / "t.txt").write_text("crossed into the volume\n")
    (tree / "etc").mkdir()
    (tree / "etc" / "c.txt").write_text("in the layer\n")
    _cli(docker_env, "volume", "create", volume)
    try:
        _cli(docker_env, "create", "--name", created, "--network", "none", "-v", f"{volume}:/data", "busybox",
             "sh", "-c", "cat /data/s.txt /data/deep/t.txt /etc/c.txt /data/after.txt")
        _cli(docker_env, "cp", str(source), f"{created}:/data/s.txt")
        _cli(docker_env, "cp", f"{tree}/.", f"{created}:/")  # data/deep/t.txt goes through the mount
        assert _cli(docker_env, "start", "-a", created, check=False).returncode != 0  # no after.txt yet
        # Exited now: the stat and the copy see the volume's content again.
        _cli(docker_env, "cp", str(source), f"{created}:/data/after.txt")
        shown = _cli(docker_env, "start", "-a", created).stdout
        assert shown == "before start\ncrossed into the volume\nin the layer\nbefore start\n"
        seen = _cli(docker_env, "run", "--rm", "--network", "none", "-v", f"{volume}:/v", "busybox",
                    "cat", "/v/deep/t.txt")
        assert seen.stdout == "crossed into the volume\n"
    finally:
        _cli(docker_env, "rm", "-f", created, check=False)
        _cli(docker_env, "volume", "rm", volume, check=False)


def test_copy_under_a_bind_mount_lands_on_the_host(docker_env: dict[str, str], tmp_path: Path) -> None:
    shared, name = tmp_path / "shared", _name()
    shared.mkdir()
    source = tmp_path / "b.txt"
    source.write_text("bound\n")
    _cli(docker_env, "run", "-d", "--name", name, "--network", "none", "-v", f"{shared}:/mnt/bound", "busybox",
               "sleep", "300")
    try:
        _cli(docker_env, "cp", str(source), f"{name}:/mnt/bound/b.txt")
        assert (shared / "b.txt").read_text() == "bound\n"
        assert _cat(docker_env, name, "/mnt/bound/b.txt") == "bound\n"
    finally:
        _cli(docker_env, "rm", "-f", name, check=False)


def _tar(*entries: tarfile.TarInfo, content: bytes = b"pwned\n") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info in entries:
            if info.isreg():
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
            else:
                tar.addfile(info)
    return out.getvalue()


def _entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, 0o644
    return info


@pytest.mark.parametrize("state", ["running", "created"])
def test_archives_never_write_outside_the_container_root(private_engine: EngineHandle, docker_env: dict[str, str],
                                                         state: str, tmp_path: Path) -> None:

    running = _name()
    _cli(docker_env, "create" if state == "created" else "run", *(["-d"] if state == "running" else []),
         "--name", running, "--network", "none", "busybox", "sleep", "300")
    try:
        _slip(private_engine, docker_env, running, tmp_path)
    finally:
        _cli(docker_env, "rm", "-f", running, check=False)


def _slip(private_engine: EngineHandle, docker_env: dict[str, str], running: str, tmp_path: Path) -> None:
    import docker

    host_dir = tmp_path / "host-target"  # an absolute host path: inside the container it is the container's
    host_dir.mkdir()
    marker = f"slip-{uuid.uuid4().hex[:8]}"
    client = docker.APIClient(base_url=private_engine.host)
    try:
        with pytest.raises(docker.errors.APIError) as refused:
            client.put_archive(running, "/tmp", _tar(_entry(f"../../../../../../../{host_dir}/{marker}")))
        assert refused.value.status_code == 400
        with pytest.raises(docker.errors.APIError):
            client.put_archive(running, "/tmp", _tar(_entry("hl", tarfile.LNKTYPE, "../../../../etc/hostname")))
        # An absolute symlink, then a file through it: it resolves inside the container's root.
        assert client.put_archive(running, "/", _tar(_entry("esc", tarfile.SYMTYPE, str(host_dir)),
                                                     _entry(f"esc/{marker}")))
        # A relative symlink climbing above the root stops at it.
        assert client.put_archive(running, "/tmp", _tar(_entry("up", tarfile.SYMTYPE, "../../../../../.."),
                                                        _entry(f"up/{marker}")))
    finally:
        client.close()
    assert list(host_dir.iterdir()) == []
    assert not Path("/", marker).exists()
    _cli(docker_env, "start", running)  # a no-op when it runs
    assert _cat(docker_env, running, f"{host_dir}/{marker}") == "pwned\n"
    assert _cat(docker_env, running, f"/{marker}") == "pwned\n"


def test_copy_uid_gid_gives_the_files_to_the_container_user(private_engine: EngineHandle,
                                                            docker_env: dict[str, str]) -> None:
    import docker

    name = _name()
    _cli(docker_env, "run", "-d", "--name", name, "--network", "none", "--user", "1234:2345", "busybox",
               "sleep", "300")
    client = docker.APIClient(base_url=private_engine.host)
    try:
        data = _tar(_entry("owned"))
        response = client._put(client._url("/containers/{0}/archive", name),
                               params={"path": "/tmp", "copyUIDGID": "1"}, data=data)
        client._raise_for_status(response)
        assert client.put_archive(name, "/tmp", _tar(_entry("kept")))
        shown = _cli(docker_env, "exec", name, "stat", "-c", "%u:%g", "/tmp/owned", "/tmp/kept").stdout
        assert shown.split() == ["1234:2345", "0:0"]
    finally:
        client.close()
        _cli(docker_env, "rm", "-f", name, check=False)


def test_read_only_mounts_refuse(docker_env: dict[str, str], tmp_path: Path) -> None:
    name = _name()
    source = tmp_path / "r.txt"
    source.write_text("x")
    (tmp_path / "ro").mkdir()
    _cli(docker_env, "run", "-d", "--name", name, "--network", "none", "--read-only",
               "-v", f"{tmp_path / 'ro'}:/ro:ro", "-v", f"{tmp_path}:/rw", "busybox", "sleep", "300")
    try:
        refused = _cli(docker_env, "cp", str(source), f"{name}:/ro/r.txt", check=False)
        assert "mounted volume is marked read-only" in refused.stderr
        rootfs = _cli(docker_env, "cp", str(source), f"{name}:/tmp/r.txt", check=False)
        assert "container rootfs is marked read-only" in rootfs.stderr
        _cli(docker_env, "cp", str(source), f"{name}:/rw/copied.txt")
        assert (tmp_path / "copied.txt").read_text() == "x"
        assert not os.listdir(tmp_path / "ro")
    finally:
        _cli(docker_env, "rm", "-f", name, check=False)
