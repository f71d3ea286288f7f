"""Load and save: docker-archive (old and 25+ layouts), OCI archives, compression, interop."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from runtime.images import ImageInvalid, ImageStore
from tests.runtime.images.archives import Img, config_for, docker_archive, layer_tar, oci_archive, sha256

LOW = layer_tar([("etc", "dir"), ("etc/os", "file", b"test os\n"), ("bin", "dir"), ("bin/a", "file", b"A" * 3000)])
HIGH = layer_tar([("etc/.wh.os", "file", b""), ("bin/b", "file", b"B"), ("bin/c", "sym", "b")])


def members(data: bytes) -> dict[str, bytes]:
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for m in tar:
            if m.isreg():
                f = tar.extractfile(m)
                assert f is not None
                out[m.name] = f.read()
    return out


def roundtrip(store: ImageStore, refs: list[str], oci_format: bool = False) -> bytes:
    buf = io.BytesIO()
    (store.save_oci if oci_format else store.save)(refs, buf)
    return buf.getvalue()


@pytest.mark.parametrize("old_format", [False, True])
def test_docker_archive_load(store: ImageStore, old_format: bool) -> None:
    img = Img([LOW, HIGH], ["demo:1", "registry.local/x/demo:2"])
    assert store.load(io.BytesIO(docker_archive([img], old_format))) == [
        "Loaded image: demo:1", "Loaded image: registry.local/x/demo:2"]
    low, high = store.rootfs_layers("demo:1")
    assert (low / "etc/os").read_bytes() == b"test os\n"
    assert (high / "etc/os").lstat().st_rdev == 0 and os.readlink(high / "bin/c") == "b"
    assert store.inspect("demo:1")["Id"] == sha256(img.config)


def test_save_load_roundtrip_docker_archive(store: ImageStore, tmp_path: Path) -> None:
    img = Img([LOW, HIGH], ["demo:1"])
    store.load(io.BytesIO(docker_archive([img])))
    data = roundtrip(store, ["demo"])
    files = members(data)
    manifest = json.loads(files["manifest.json"])
    assert manifest == [{"Config": f"blobs/sha256/{sha256(img.config)[7:]}", "RepoTags": ["demo:1"],
                         "Layers": [f"blobs/sha256/{sha256(LOW)[7:]}", f"blobs/sha256/{sha256(HIGH)[7:]}"]}]
    assert files[f"blobs/sha256/{sha256(LOW)[7:]}"] == LOW
    index = json.loads(files["index.json"])
    assert index["manifests"][0]["annotations"]["io.containerd.image.name"] == "docker.io/library/demo:1"
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    other = ImageStore(tmp_path / "other")
    try:
        assert other.load(io.BytesIO(data)) == ["Loaded image: demo:1"]
        assert other.inspect("demo:1")["Id"] == sha256(img.config)
        assert roundtrip(other, ["demo:1"]) == data  # deterministic bytes
    finally:
        other.close()


def test_save_by_id_has_no_names(store: ImageStore) -> None:
    store.load(io.BytesIO(docker_archive([Img([LOW], ["demo:1"])])))
    manifest = json.loads(members(roundtrip(store, [store.resolve("demo:1")[:19]]))["manifest.json"])
    assert manifest[0]["RepoTags"] is None


def test_oci_archive_gzip_roundtrip_keeps_digests(store: ImageStore, tmp_path: Path) -> None:
    gz = gzip.compress(LOW, mtime=0)
    img = Img([gz, HIGH], ["docker.io/library/ocidemo:3"], config=config_for([gz, HIGH]))
    original = oci_archive([img])
    assert store.load(io.BytesIO(original)) == ["Loaded image: ocidemo:3"]
    info = store.inspect("ocidemo:3")
    manifest_digest = info["RepoDigests"][0].split("@")[1]
    assert info["RepoDigests"] == [f"ocidemo@{manifest_digest}"]
    assert store.resolve(f"ocidemo@{manifest_digest}") == info["Id"]
    saved = members(roundtrip(store, ["ocidemo:3"], oci_format=True))
    assert saved[f"blobs/sha256/{sha256(gz)[7:]}"] == gz  # layer kept compressed, as loaded
    index = json.loads(saved["index.json"])
    assert index["manifests"][0]["digest"] == manifest_digest
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "3"
    docker = members(roundtrip(store, ["ocidemo:3"]))
    assert docker[f"blobs/sha256/{sha256(LOW)[7:]}"] == LOW  # docker-archive: uncompressed, by DiffID


@pytest.mark.skipif(shutil.which("zstd") is None, reason="zstd program not installed")
def test_zstd_layer(store: ImageStore) -> None:
    zst = subprocess.run(["zstd", "-q", "-c"], input=LOW, capture_output=True, check=True).stdout
    img = Img([zst], ["z:1"], config=config_for([LOW]))
    store.load(io.BytesIO(oci_archive([img])))
    assert (store.rootfs_layers("z:1")[0] / "bin/a").read_bytes() == b"A" * 3000
    assert members(roundtrip(store, ["z:1"]))[f"blobs/sha256/{sha256(LOW)[7:]}"] == LOW


def test_compressed_archive_stream(store: ImageStore) -> None:
    data = gzip.compress(docker_archive([Img([LOW], ["gz:1"])]))
    assert store.load(io.BytesIO(data)) == ["Loaded image: gz:1"]


def test_oci_index_picks_host_platform(store: ImageStore) -> None:
    amd = Img([LOW], [])
    arm = Img([HIGH], [], config=config_for([HIGH]))
    base = oci_archive([amd, arm])
    with tarfile.open(fileobj=io.BytesIO(base)) as tar:
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
    nested = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        dict(index["manifests"][1], platform={"os": "linux", "architecture": "arm64", "variant": "v8"}),
        dict(index["manifests"][0], platform={"os": "linux", "architecture": "amd64"}),
    ]}
    raw = json.dumps(nested).encode()
    top = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
                                             "digest": sha256(raw), "size": len(raw),
                                             "annotations": {"io.containerd.image.name": "multi:1"}}]}
    buf = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(base)) as src, tarfile.open(fileobj=buf, mode="w") as dst:
        for m in src:
            if m.name != "index.json":
                dst.addfile(m, src.extractfile(m))
        for name, payload in ((f"blobs/sha256/{sha256(raw)[7:]}", raw), ("index.json", json.dumps(top).encode())):
            ti = tarfile.TarInfo(name)
            ti.size = len(payload)
            dst.addfile(ti, io.BytesIO(payload))
    store.load(io.BytesIO(buf.getvalue()))
    from runtime.images.oci import host_platform

    expected = amd if host_platform().architecture == "amd64" else arm
    assert store.inspect("multi:1")["Id"] == sha256(expected.config)


def test_untagged_oci_image_loads_by_id(store: ImageStore) -> None:
    img = Img([LOW])
    assert store.load(io.BytesIO(oci_archive([img]))) == [f"Loaded image ID: {sha256(img.config)}"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a tar at all" * 100, "not a valid tar"),
        (docker_archive([]).replace(b"[]", b"{}"), "must be a list"),
        (layer_tar([("hello", "file", b"x")]), "neither a docker-archive"),
    ],
)
def test_bad_archives(store: ImageStore, data: bytes, message: str) -> None:
    with pytest.raises(ImageInvalid, match=message):
        store.load(io.BytesIO(data))
    assert list((store.root / "blobs" / "sha256").iterdir()) == []


def test_corrupt_oci_blob_refused(store: ImageStore) -> None:
    data = oci_archive([Img([LOW], ["c:1"])])
    broken = data.replace(b"test os\n", b"TEST OS\n")
    with pytest.raises(ImageInvalid, match="does not match its digest"):
        store.load(io.BytesIO(broken))


def test_missing_layer_refused(store: ImageStore) -> None:
    data = docker_archive([Img([LOW], ["m:1"])])
    head, _, tail = data.rpartition(sha256(LOW)[7:].encode())  # the last one is in manifest.json
    data = head + b"f" * 64 + tail
    with pytest.raises(ImageInvalid, match="missing"):
        store.load(io.BytesIO(data))


# interop with the reference tools

def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian package {name})")
    return path


def test_skopeo_reads_our_docker_archive_and_back(store: ImageStore, busybox: str, tmp_path: Path) -> None:
    skopeo = _tool("skopeo")
    ours = tmp_path / "ours.tar"
    with open(ours, "wb") as f:
        store.save(["busybox:latest"], f)
    info = json.loads(subprocess.run([skopeo, "inspect", f"docker-archive:{ours}"],
                                     capture_output=True, text=True, check=True).stdout)
    assert info["Layers"] == store.inspect("busybox")["RootFS"]["Layers"] and info["Os"] == "linux"
    oci_out, back = tmp_path / "x.oci.tar", tmp_path / "back.tar"
    subprocess.run([skopeo, "copy", "-q", f"docker-archive:{ours}", f"oci-archive:{oci_out}:skopeo/bb:1"],
                   check=True)
    subprocess.run([skopeo, "copy", "-q", f"oci-archive:{oci_out}:skopeo/bb:1",
                    f"docker-archive:{back}:skopeo/bb:2"], check=True)
    with open(oci_out, "rb") as f:
        assert store.load(f) == ["Loaded image: skopeo/bb:1"]
    with open(back, "rb") as f:  # skopeo writes the old layout (<id>/layer.tar, <config>.json)
        assert store.load(f) == ["Loaded image: skopeo/bb:2"]
    for ref in ("skopeo/bb:1", "skopeo/bb:2"):
        assert store.inspect(ref)["RootFS"] == store.inspect("busybox")["RootFS"]
        assert store.inspect(ref)["Config"]["Cmd"] == ["sh"]
        assert store.rootfs_layers(ref) == store.rootfs_layers("busybox")  # same snapshot, shared


def test_umoci_unpacks_our_oci_save(store: ImageStore, busybox: str, tmp_path: Path) -> None:
    umoci = _tool("umoci")
    layout = tmp_path / "layout"
    layout.mkdir()
    buf = io.BytesIO()
    store.save_oci(["busybox"], buf)
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as tar:
        tar.extractall(layout, filter="data")
    archive = tmp_path / "ours.oci.tar"
    archive.write_bytes(buf.getvalue())
    info = json.loads(subprocess.run([_tool("skopeo"), "inspect", f"oci-archive:{archive}"],
                                     capture_output=True, text=True, check=True).stdout)
    assert info["Layers"] and info["Os"] == "linux"
    bundle = tmp_path / "bundle"
    subprocess.run([umoci, "unpack", "--image", f"{layout}:latest", str(bundle)],
                   capture_output=True, text=True, check=True)
    assert (bundle / "rootfs/bin/busybox").read_bytes() == Path("/bin/busybox").read_bytes()
    spec = json.loads((bundle / "config.json").read_text())
    assert spec["process"]["args"] == ["sh"]
