"""Push through the docker CLI, docker-py and the raw API to Debian's docker-registry, read back
by skopeo and by our own pull: login, push (already exists, mounted from, chunked, all tags),
rmi, pull by tag and by digest, run; and the errors of an anonymous push."""

from __future__ import annotations

import io
import json
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.compose.cli.engines import busybox_engine, docker_cli
from tests.engine_fixture import EngineHandle
from tests.registry_fixture import RegistryFactory, RegistryHandle
from tests.registry_images import skopeo, skopeo_src_flags

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineHandle]:
    with busybox_engine(tmp_path_factory.mktemp("registry-push")) as (handle, _rootfs):
        yield handle


@pytest.fixture(scope="module")
def token_registry(registry_factory: RegistryFactory) -> RegistryHandle:
    return registry_factory("token")


def docker(engine: EngineHandle, *args: str, check: bool = True) -> str:
    done = docker_cli(engine, *args, check=False, timeout=180)
    if check:
        assert done.returncode == 0, done.stderr
        return done.stdout
    assert done.returncode != 0, done.stdout
    return done.stderr


def test_login_push_rmi_pull_run(engine: EngineHandle, token_registry: RegistryHandle) -> None:
    reg = token_registry
    assert reg.token_server is not None
    name = f"{reg.host}/team/busybox:v1"
    docker(engine, "tag", "busybox", name)
    err = docker(engine, "push", name, check=False)  # anonymous: the token server grants pull only
    assert err.strip() == "unauthorized: authentication required"
    assert "Login Succeeded" in docker(engine, "login", "-u", "testuser", "-p", "testpassword", reg.host)
    stored = json.loads((engine.root.parent / ".docker" / "config.json").read_text())["auths"][reg.host]
    assert stored["identitytoken"] in reg.token_server.refresh_tokens  # later commands send the identity token
    out = docker(engine, "push", name)
    assert f"The push refers to repository [{reg.host}/team/busybox]" in out
    assert "Pushed" in out and "v1: digest: sha256:" in out
    digest = out.split("v1: digest: ")[1].split()[0]
    again = docker(engine, "push", name)
    assert "Layer already exists" in again and "Pushed" not in again
    repo_digests = json.loads(docker(engine, "image", "inspect", "-f", "{{json .RepoDigests}}", name))
    assert f"{reg.host}/team/busybox@{digest}" in repo_digests
    docker(engine, "tag", "busybox", f"{reg.host}/other/busybox:v2")
    mounted = docker(engine, "push", f"{reg.host}/other/busybox:v2")
    assert "Mounted from team/busybox" in mounted
    docker(engine, "rmi", name, f"{reg.host}/other/busybox:v2")
    out = docker(engine, "pull", name)
    assert f"Status: Downloaded newer image for {name}" in out
    assert f"Status: Image is up to date for {name}" in docker(engine, "pull", name)
    by_digest = f"{reg.host}/team/busybox@{digest}"
    assert docker(engine, "pull", by_digest).strip().endswith(by_digest)
    assert docker(engine, "run", "--rm", name, "echo", "round trip") == "round trip\n"
    # skopeo reads what we pushed
    inspected = json.loads(skopeo("inspect", *skopeo_src_flags(reg, "--"), f"docker://{name}").stdout)
    assert inspected["Digest"] == digest and inspected["Architecture"] == "amd64"
    docker(engine, "logout", reg.host)


def test_all_tags_and_chunked_upload(engine: EngineHandle, registry: RegistryHandle, tmp_path: Path) -> None:
    big = tmp_path / "big.tar"
    with tarfile.open(big, "w") as tar:
        data = os.urandom(20 << 20)
        info = tarfile.TarInfo("blob.bin")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    repo = f"{registry.host}/big/random"
    docker(engine, "import", str(big), f"{repo}:a")
    docker(engine, "tag", f"{repo}:a", f"{repo}:b")
    out = docker(engine, "push", "--all-tags", repo)
    assert "a: digest: " in out and "b: digest: " in out
    copied = tmp_path / "copy"
    skopeo("copy", *skopeo_src_flags(registry), f"docker://{repo}:b", f"oci:{copied}:b")
    index = json.loads((copied / "index.json").read_text())
    manifest = json.loads((copied / "blobs" / "sha256" / index["manifests"][0]["digest"][7:]).read_bytes())
    assert manifest["layers"][0]["size"] > 20 << 20
    docker(engine, "rmi", f"{repo}:a", f"{repo}:b")
    docker(engine, "pull", f"{repo}:b")


def test_docker_py_login_push_pull(engine: EngineHandle, registry_factory: RegistryFactory) -> None:
    import docker as docker_py

    reg = registry_factory("htpasswd")
    client: Any = docker_py.DockerClient(base_url=engine.host)
    try:
        answer = client.login("testuser", "testpassword", registry=reg.host)
        assert answer["Status"] == "Login Succeeded"
        with pytest.raises(docker_py.errors.APIError) as info:
            client.login("testuser", "wrong", registry=reg.host, reauth=True)
        assert info.value.status_code == 401
        client.images.get("busybox").tag(f"{reg.host}/py/busybox", "v1")
        lines = list(client.images.push(f"{reg.host}/py/busybox", "v1", stream=True, decode=True,
                                        auth_config={"username": "testuser", "password": "testpassword"}))
        assert not [line for line in lines if "error" in line], lines
        assert any(line.get("aux", {}).get("Tag") == "v1" for line in lines)
        client.images.remove(f"{reg.host}/py/busybox:v1")
        image = client.images.pull(f"{reg.host}/py/busybox", tag="v1",
                                   auth_config={"username": "testuser", "password": "testpassword"})
        assert f"{reg.host}/py/busybox:v1" in image.tags
    finally:
        client.close()


def test_push_unknown_image_and_unreachable(engine: EngineHandle) -> None:
    err = docker(engine, "push", "127.0.0.1:1/none/here:v1", check=False)
    assert err.strip() == "Error response from daemon: No such image: 127.0.0.1:1/none/here:v1"
    docker(engine, "tag", "busybox", "127.0.0.1:1/t/busybox:v1")
    err = docker(engine, "push", "127.0.0.1:1/t/busybox:v1", check=False)
    assert err.strip().splitlines()[-1] == 'Get "http://127.0.0.1:1/v2/": connect: connection refused'


def test_push_stream_shape(engine: EngineHandle, registry: RegistryHandle) -> None:
    """dockerd's push stream: repository line, Preparing, Pushing {current,total}, Pushed, the digest line, aux."""
    from tests.runtime.registry.api import call, stream_lines

    name = f"{registry.host}/shape/busybox"
    docker(engine, "tag", "busybox", f"{name}:v1")
    status, raw = call(engine, "POST", f"/images/{name}/push?tag=v1")
    assert status == 200 and raw.endswith(b"}\r\n")
    lines = stream_lines(raw)
    assert lines[0] == {"status": f"The push refers to repository [{name}]"}
    layer = lines[1]["id"]
    said = [line["status"] for line in lines if line.get("id") == layer]
    assert list(dict.fromkeys(said)) == ["Preparing", "Pushing", "Pushed"]
    pushing = [line for line in lines if line.get("status") == "Pushing"]
    assert pushing[-1]["progressDetail"]["current"] == pushing[-1]["progressDetail"]["total"] > 0
    digest_line, aux = lines[-2], lines[-1]
    assert digest_line["status"].startswith("v1: digest: sha256:") and " size: " in digest_line["status"]
    assert aux["aux"]["Tag"] == "v1" and digest_line["status"] == (
        f"v1: digest: {aux['aux']['Digest']} size: {aux['aux']['Size']}")
    status, raw = call(engine, "POST", f"/images/{registry.host}/shape/none/push?tag=v1")
    assert (status, json.loads(raw)["message"]) == (404, f"No such image: {registry.host}/shape/none:v1")
