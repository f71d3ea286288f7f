"""`--volumes-from` with the real docker CLI: another container's volumes and binds, `:ro`/`:rw`,
a mount of the request's own winning, and dockerd's messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.containers.volumes_from import parse
from tests.runtime.api.containers_env import docker_env, inspect, out, private_engine, remove_all_containers
from tests.runtime.api.containers_env import run as docker

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]
__all__ = ["docker_env", "private_engine"]


def test_parse() -> None:
    assert parse("db") == ("db", "rw") and parse("db:ro") == ("db", "ro")
    with pytest.raises(Exception, match="invalid mode: z"):
        parse("db:z")


def test_volumes_from_a_container(docker_env: dict[str, str], tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "hello").write_text("from the host\n")
    try:
        docker(docker_env, "run", "-d", "--name", "data", "-v", "vfvol:/data", "-v", f"{shared}:/host:ro",
               "-v", f"{tmp_path}:/rw", "busybox", "sleep", "1000")
        script = "echo written > /data/f && cat /data/f /host/hello && (touch /host/x 2>/dev/null && echo BAD; " \
                 "touch /rw/made && echo rw-ok)"
        assert out(docker_env, "run", "--rm", "--volumes-from", "data", "busybox", "sh", "-c", script) == \
            "written\nfrom the host\nrw-ok\n"
        assert (tmp_path / "made").exists()
        readonly = docker(docker_env, "run", "--rm", "--volumes-from", "data:ro", "busybox", "sh", "-c",
                          "cat /data/f; touch /data/g", check=False)
        assert readonly.stdout == b"written\n" and b"Read-only file system" in readonly.stderr
        docker(docker_env, "stop", "-t", "0", "data")  # a stopped container still lends its mounts
        docker(docker_env, "create", "--name", "user", "--volumes-from", "data", "-v", "other:/data", "busybox")
        points = {m["Destination"]: m for m in inspect(docker_env, "user")["Mounts"]}  # type: ignore[attr-defined]
        assert points["/data"]["Name"] == "other" and points["/host"]["RW"] is False
        assert points["/rw"]["Source"] == str(tmp_path) and points["/rw"]["RW"] is True
        assert inspect(docker_env, "user")["HostConfig"]["VolumesFrom"] == ["data"]  # type: ignore[index]
        assert out(docker_env, "run", "--rm", "-v", "vfvol:/v", "busybox", "cat", "/v/f") == "written\n"
        missing = docker(docker_env, "run", "--rm", "--volumes-from", "nosuch", "busybox", "true", check=False)
        assert b"No such container: nosuch" in missing.stderr
    finally:
        remove_all_containers(docker_env)
        docker(docker_env, "volume", "rm", "vfvol", "other", check=False)
