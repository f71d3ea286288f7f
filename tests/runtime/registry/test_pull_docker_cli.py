"""Pull through the real docker CLI and the raw API from Debian's docker-registry: by tag and by
digest, up to date, run the pulled image, shared layers, zstd, platforms of an OCI index, auth
(token and htpasswd), TLS, and one clear line for each failure."""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compose.cli.engines import busybox_engine, docker_cli
from tests.engine_fixture import EngineHandle
from tests.registry_fixture import RegistryFactory, RegistryHandle
from tests.registry_images import (
    busybox_layout,
    oci_layout,
    oci_multiarch_layout,
    push_layout,
    push_multiarch,
    skopeo,
    skopeo_dest_flags,
)
from tests.runtime.registry.api import call, registry_auth, stream_lines

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EngineHandle, Path]]:
    with busybox_engine(tmp_path_factory.mktemp("registry-pull")) as made:
        yield made


@pytest.fixture(scope="module")
def engine(setup: tuple[EngineHandle, Path]) -> EngineHandle:
    return setup[0]


@pytest.fixture(scope="module")
def seeded(registry: RegistryHandle, setup: tuple[EngineHandle, Path],
           tmp_path_factory: pytest.TempPathFactory) -> RegistryHandle:
    """The plain registry with t/busybox:v1 (busybox-static) pushed by skopeo."""
    layout = busybox_layout(tmp_path_factory.mktemp("bb-layout"), setup[1])
    push_layout(layout, registry, "t/busybox", "v1")
    return registry


def docker(engine: EngineHandle, *args: str, check: bool = True) -> str:
    done = docker_cli(engine, *args, check=False, timeout=180)
    if check:
        assert done.returncode == 0, done.stderr
        return done.stdout
    assert done.returncode != 0, done.stdout
    return done.stderr


def test_pull_by_tag_up_to_date_and_run(engine: EngineHandle, seeded: RegistryHandle) -> None:
    name = f"{seeded.host}/t/busybox:v1"
    out = docker(engine, "pull", name)
    assert "v1: Pulling from t/busybox\n" in out  # the path on the registry, as dockerd says it
    assert "Pull complete" in out and "Digest: sha256:" in out
    assert out.rstrip().endswith(f"Status: Downloaded newer image for {name}\n{name}".rstrip())
    again = docker(engine, "pull", name)
    assert f"Status: Image is up to date for {name}" in again and "Pull complete" not in again
    digests = json.loads(docker(engine, "image", "inspect", "-f", "{{json .RepoDigests}}", name))
    assert len(digests) == 1 and digests[0].startswith(f"{seeded.host}/t/busybox@sha256:")
    assert docker(engine, "run", "--rm", name, "echo", "pulled and ran") == "pulled and ran\n"


def test_pull_by_digest(engine: EngineHandle, seeded: RegistryHandle) -> None:
    name = f"{seeded.host}/t/busybox:v1"
    docker(engine, "pull", name)
    digest = json.loads(docker(engine, "image", "inspect", "-f", "{{json .RepoDigests}}", name))[0]
    docker(engine, "rmi", name)
    out = docker(engine, "pull", digest)
    assert f"Status: Downloaded newer image for {digest}" in out
    assert json.loads(docker(engine, "image", "inspect", "-f", "{{json .RepoTags}}", digest)) == []
    assert docker(engine, "run", "--rm", digest, "true") == ""
    docker(engine, "rmi", digest)


def test_shared_layer_already_exists_and_zstd(engine: EngineHandle, seeded: RegistryHandle, setup: tuple,
                                              tmp_path: Path) -> None:
    base = setup[1].read_bytes()
    layout = oci_layout(tmp_path / "two", [base, {"extra.txt": b"extra\n"}], cmd=["cat", "/extra.txt"])
    push_layout(layout, seeded, "t/two", "v1")
    docker(engine, "pull", f"{seeded.host}/t/busybox:v1")
    out = docker(engine, "pull", f"{seeded.host}/t/two:v1")
    assert out.count("Already exists") == 1 and out.count("Pull complete") == 1
    assert docker(engine, "run", "--rm", f"{seeded.host}/t/two:v1") == "extra\n"
    zstd = oci_layout(tmp_path / "zstd", [{"z.txt": b"zstd layer\n" * 1000}], compress="zstd")
    push_layout(zstd, seeded, "t/zstd", "v1")
    docker(engine, "pull", f"{seeded.host}/t/zstd:v1")
    status, raw = call(engine, "GET", f"/images/{seeded.host}/t/zstd:v1/json")
    assert status == 200 and len(json.loads(raw)["RootFS"]["Layers"]) == 1


def test_index_platforms(engine: EngineHandle, seeded: RegistryHandle, setup: tuple, tmp_path: Path) -> None:
    """skopeo pushes an OCI index of busybox for amd64 and a copy whose config says arm64."""
    base = setup[1].read_bytes()
    layout = oci_multiarch_layout(tmp_path / "multi", {
        "amd64": [base, {"arch.txt": b"amd64\n"}], "arm64": [base, {"arch.txt": b"arm64\n"}]})
    push_multiarch(layout, seeded, "t/multi", "v1")
    name = f"{seeded.host}/t/multi:v1"
    docker(engine, "pull", name)  # the host's platform
    assert docker(engine, "run", "--rm", name, "cat", "/arch.txt") == "amd64\n"
    docker(engine, "pull", "--platform", "linux/arm64", name)
    arch = docker(engine, "image", "inspect", "-f", "{{.Architecture}}/{{.Variant}}", name).strip()
    assert arch == "arm64/v8"
    status, raw = call(engine, "POST", f"/images/create?fromImage={urllib.parse.quote(name)}&platform=linux/amd64")
    assert status == 200, raw
    assert docker(engine, "image", "inspect", "-f", "{{.Architecture}}", name).strip() == "amd64"
    status, raw = call(engine, "POST", f"/images/create?fromImage={urllib.parse.quote(name)}&platform=linux/s390x")
    assert status == 404
    assert json.loads(raw)["message"] == (
        "no matching manifest for linux/s390x in the manifest list entries (available: linux/amd64, linux/arm64)")
    status, raw = call(engine, "GET", f"/distribution/{name}/json")
    assert status == 200
    answer = json.loads(raw)
    assert answer["Descriptor"]["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert {p["architecture"] for p in answer["Platforms"]} == {"amd64", "arm64"}


def test_progress_stream_shape(engine: EngineHandle, seeded: RegistryHandle, tmp_path: Path) -> None:
    """dockerd's NDJSON: Pulling from, Pulling fs layer, Downloading {current,total}, Verifying Checksum,
    Download complete, Extracting, Pull complete, Digest, Status; each line ends with CRLF."""
    push_layout(oci_layout(tmp_path / "l", [{"a": os.urandom(3 << 20)}, {"b": b"b"}]), seeded, "t/shape", "v1")
    status, raw = call(engine, "POST", f"/images/create?fromImage={seeded.host}/t/shape&tag=v1")
    assert status == 200 and raw.endswith(b"}\r\n")
    lines = stream_lines(raw)
    assert lines[0] == {"status": "Pulling from t/shape", "progressDetail": {}, "id": "v1"}
    layer_ids = {line["id"] for line in lines if line.get("status") == "Pulling fs layer"}
    assert len(layer_ids) == 2 and all(len(i) == 12 for i in layer_ids)
    for layer in layer_ids:
        said = [line["status"] for line in lines if line.get("id") == layer]
        order = ["Pulling fs layer", "Downloading", "Verifying Checksum", "Download complete", "Extracting",
                 "Pull complete"]
        assert [s for s in dict.fromkeys(said)] == order, said
    downloading = [line for line in lines if line.get("status") == "Downloading"]
    assert all(set(d["progressDetail"]) == {"current", "total"} for d in downloading)
    assert lines[-2]["status"].startswith("Digest: sha256:")
    assert lines[-1] == {"status": f"Status: Downloaded newer image for {seeded.host}/t/shape:v1"}


def test_pull_all_tags(engine: EngineHandle, seeded: RegistryHandle, setup: tuple, tmp_path: Path) -> None:
    push_layout(busybox_layout(tmp_path / "bb", setup[1]), seeded, "t/tags", "a")
    push_layout(oci_layout(tmp_path / "other", [{"b": b"b\n"}]), seeded, "t/tags", "b")
    out = docker(engine, "pull", "--all-tags", f"{seeded.host}/t/tags")
    assert "a: Pulling from" in out and "b: Pulling from" in out
    tags = docker(engine, "images", "--format", "{{.Tag}}", f"{seeded.host}/t/tags").split()
    assert sorted(tags) == ["a", "b"]


def test_failures_are_one_line(engine: EngineHandle, seeded: RegistryHandle) -> None:
    err = docker(engine, "pull", f"{seeded.host}/t/nope:v1", check=False)
    assert err.strip() == (f"Error response from daemon: manifest for {seeded.host}/t/nope:v1 not found: "
                           "manifest unknown: manifest unknown")
    err = docker(engine, "pull", "127.0.0.1:1/t/x", check=False)
    assert err.strip().splitlines()[-1] == 'Error response from daemon: Get "http://127.0.0.1:1/v2/": connect: ' \
                                           'connection refused'
    status, raw = call(engine, "POST", "/images/create?fromImage=127.0.0.1:5000/Foo&tag=latest")
    assert (status, json.loads(raw)["message"]) == (
        400, "invalid reference format: repository name (Foo) must be lowercase")
    status, raw = call(engine, "POST", "/images/create?fromImage=x&tag=bad!tag")
    assert (status, json.loads(raw)["message"]) == (400, "invalid tag format: 'bad!tag'")
    status, raw = call(engine, "POST", "/images/create?fromImage=x&platform=linux/nope")
    assert status == 400


def test_token_auth_anonymous_pull(engine: EngineHandle, registry_factory: RegistryFactory, setup: tuple,
                                   tmp_path: Path) -> None:
    reg = registry_factory("token")
    push_layout(busybox_layout(tmp_path / "bb", setup[1]), reg, "t/busybox", "v1")
    assert reg.token_server is not None
    reg.token_server.issued.clear()
    docker(engine, "pull", f"{reg.host}/t/busybox:v1")
    assert [account for account, _ in reg.token_server.issued] == [""]  # one anonymous token, reused
    assert docker(engine, "run", "--rm", f"{reg.host}/t/busybox:v1", "echo", "ok") == "ok\n"
    # With credentials in X-Registry-Auth the token is the user's.
    reg.token_server.issued.clear()
    docker(engine, "rmi", f"{reg.host}/t/busybox:v1")
    status, raw = call(engine, "POST", f"/images/create?fromImage={reg.host}/t/busybox&tag=v1",
                       auth=registry_auth("testuser", "testpassword", reg.host))
    assert status == 200 and "Downloaded newer image" in raw.decode()
    assert [account for account, _ in reg.token_server.issued] == ["testuser"]
    err = docker(engine, "pull", f"{reg.host}/private/thing:v1", check=False)
    assert err.strip() == (f"Error response from daemon: pull access denied for {reg.host}/private/thing, repository "
                           "does not exist or may require 'docker login': unauthorized: authentication required")


def test_htpasswd_login_and_pull(engine: EngineHandle, registry_factory: RegistryFactory, setup: tuple,
                                 tmp_path: Path) -> None:
    reg = registry_factory("htpasswd")
    push_layout(busybox_layout(tmp_path / "bb", setup[1]), reg, "t/busybox", "v1")
    err = docker(engine, "pull", f"{reg.host}/t/busybox:v1", check=False)
    assert "no basic auth credentials" in err and len(err.strip().splitlines()) == 1
    err = docker(engine, "login", "-u", "testuser", "-p", "wrong", reg.host, check=False)
    assert err.strip().splitlines()[-1] == (
        f"Error response from daemon: login attempt to http://{reg.host}/v2/ failed with status: 401 Unauthorized")
    out = docker(engine, "login", "-u", "testuser", "-p", "testpassword", reg.host)
    assert "Login Succeeded" in out
    docker(engine, "pull", f"{reg.host}/t/busybox:v1")
    docker(engine, "logout", reg.host)


def test_tls_registry(engine: EngineHandle, registry_factory: RegistryFactory, setup: tuple, tmp_path: Path) -> None:
    reg = registry_factory("tls")
    push_layout(busybox_layout(tmp_path / "bb", setup[1]), reg, "t/busybox", "v1")
    out = docker(engine, "pull", f"{reg.host}/t/busybox:v1")  # loopback: insecure, HTTPS tried first
    assert "Downloaded newer image" in out
    assert os.path.exists(reg.root / "registry.log")


def test_docker_manifest_list_pulled_and_pushed_back_as_is(engine: EngineHandle, seeded: RegistryHandle, setup: tuple,
                                                          tmp_path: Path) -> None:
    """skopeo turns the index into a Docker manifest list of schema 2 manifests; what we pull from it
    goes back with the same manifest (media types and digest kept)."""
    base = setup[1].read_bytes()
    layout = oci_multiarch_layout(tmp_path / "multi", {"amd64": [base], "arm64": [base, {"arm": b"64\n"}]})
    skopeo("copy", "--all", "--format", "v2s2", *skopeo_dest_flags(seeded), f"oci:{layout}:latest",
           f"docker://{seeded.host}/t/list:v1")
    name = f"{seeded.host}/t/list:v1"
    docker(engine, "pull", "--platform", "linux/arm64/v8", name)
    assert docker(engine, "image", "inspect", "-f", "{{.Architecture}}", name).strip() == "arm64"
    status, raw = call(engine, "GET", f"/distribution/{name}/json")
    assert status == 200
    assert json.loads(raw)["Descriptor"]["mediaType"] == "application/vnd.docker.distribution.manifest.list.v2+json"
    docker(engine, "tag", name, f"{seeded.host}/t/list-copy:v1")
    out = docker(engine, "push", f"{seeded.host}/t/list-copy:v1")
    pushed = out.split("v1: digest: ")[1].split()[0]
    raw_manifest = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{seeded.host}/t/list-copy:v1").stdout
    manifest = json.loads(raw_manifest)
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert manifest["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"
    arm = [m for m in json.loads(skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{name}").stdout)
           ["manifests"] if m["platform"]["architecture"] == "arm64"]
    assert arm[0]["digest"] == pushed  # the very manifest we pulled


def test_registry_mirror_for_docker_hub(engine: EngineHandle, registry_factory: RegistryFactory, setup: tuple,
                                        tmp_path: Path) -> None:
    """`registry-mirrors` serves docker.io names (no traffic leaves the loopback: the mirror has it)."""
    mirror = registry_factory("http")
    push_layout(busybox_layout(tmp_path / "bb", setup[1]), mirror, "library/mirrored", "v1")
    (engine.root / "daemon.json").write_text(json.dumps({"registry-mirrors": [mirror.url]}))
    try:
        out = docker(engine, "pull", "mirrored:v1")
        assert "Status: Downloaded newer image for mirrored:v1" in out
        assert docker(engine, "run", "--rm", "mirrored:v1", "echo", "from the mirror") == "from the mirror\n"
        digests = json.loads(docker(engine, "image", "inspect", "-f", "{{json .RepoDigests}}", "mirrored:v1"))
        assert any(d.startswith("mirrored@sha256:") for d in digests), digests
        docker(engine, "rmi", "mirrored:v1")
    finally:
        (engine.root / "daemon.json").unlink()
