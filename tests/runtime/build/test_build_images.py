"""Images a build names: FROM an image only a registry has (pulled, with its progress in the
stream), `--pull`, credentials from X-Registry-Config, and `--cache-from`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine_fixture import EngineHandle
from tests.registry_fixture import RegistryFactory
from tests.runtime.build.clients import docker, steps, write

pytestmark = pytest.mark.root


def test_from_pulls_what_is_missing(engine: EngineHandle, busybox: str, registry_factory: RegistryFactory,
                                    tmp_path: Path) -> None:
    reg = registry_factory("http")
    remote = f"{reg.host}/lib/busybox:1"
    docker(engine, "tag", busybox, remote)
    docker(engine, "push", remote)
    docker(engine, "rmi", remote)
    ctx = write(tmp_path, {"Dockerfile": f"FROM {remote}\nRUN echo pulled > /p\n"})
    out = docker(engine, "build", "-t", "from-registry", str(ctx)).stdout
    assert "Pulling from lib/busybox" in out and f"Status: Downloaded newer image for {remote}" in out, out
    assert docker(engine, "run", "--rm", "from-registry", "cat", "/p").stdout == "pulled\n"
    again = docker(engine, "build", "--pull", "-t", "from-registry", str(ctx)).stdout
    assert f"Status: Image is up to date for {remote}" in again, again
    assert [cached for _, cached in steps(again)] == [False, True], again
    missing = write(tmp_path / "m", {"Dockerfile": f"FROM {reg.host}/lib/nothing:1\n"})
    failed = docker(engine, "build", str(missing), check=False)
    assert failed.returncode != 0 and "not found" in failed.stderr, failed.stderr


def test_cache_from_limits_hits_to_its_images(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    ctx = write(tmp_path, {"Dockerfile": "FROM busybox\nRUN echo cached-from > /c\nENV A=1\n"})
    docker(engine, "build", "-t", "source-image", str(ctx))
    hits = steps(docker(engine, "build", "--cache-from", "source-image", str(ctx)).stdout)
    assert [cached for _, cached in hits] == [False, True, True], hits
    docker(engine, "build", "-t", "unrelated", str(write(tmp_path / "u", {"Dockerfile": "FROM busybox\nENV B=2\n"})))
    misses = steps(docker(engine, "build", "--cache-from", "unrelated", str(ctx)).stdout)
    assert [cached for _, cached in misses] == [False, False, False], misses


def test_from_a_private_registry_uses_x_registry_config(engine: EngineHandle, busybox: str,
                                                        registry_factory: RegistryFactory, tmp_path: Path) -> None:
    reg = registry_factory("htpasswd")
    user, password = next(iter(reg.users.items()))
    docker(engine, "login", reg.host, "-u", user, "--password-stdin", input=password)
    try:
        remote = f"{reg.host}/private/busybox:1"
        docker(engine, "tag", busybox, remote)
        docker(engine, "push", remote)
        docker(engine, "rmi", remote)
        ctx = write(tmp_path, {"Dockerfile": f"FROM {remote}\nRUN echo private > /p\n"})
        out = docker(engine, "build", "-t", "from-private", str(ctx)).stdout
        assert f"Status: Downloaded newer image for {remote}" in out, out
    finally:
        docker(engine, "logout", reg.host)
    denied = write(tmp_path / "d", {"Dockerfile": f"FROM {reg.host}/private/other:1\n"})
    failed = docker(engine, "build", str(denied), check=False)
    assert failed.returncode != 0 and failed.stderr.strip(), failed.stderr


def test_copy_from_an_image_and_a_stage_index_and_platform_args(engine: EngineHandle, busybox: str,
                                                                 tmp_path: Path) -> None:
    ctx = write(tmp_path, {"Dockerfile": (
        "FROM busybox\nRUN echo zero > /zero\n"
        "FROM scratch\nCOPY --from=busybox /etc/passwd /passwd\nCOPY --from=0 /zero /zero\n"
        "FROM busybox\nARG TARGETPLATFORM\nARG TARGETARCH\nCOPY --from=1 / /copied/\n"
        "RUN echo \"$TARGETPLATFORM $TARGETARCH\" > /platform\n")})
    docker(engine, "build", "-t", "from-image", str(ctx))
    out = docker(engine, "run", "--rm", "from-image", "sh", "-c",
                 "cat /copied/zero /platform; head -1 /copied/passwd").stdout.splitlines()
    arch = docker(engine, "version", "-f", "{{.Server.Arch}}").stdout.strip()
    assert out == ["zero", f"linux/{arch} {arch}", "root:x:0:0:root:/root:/bin/sh"], out
