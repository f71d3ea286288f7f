"""Test images for registry tests, made without an engine: OCI layouts skopeo can push.

`oci_layout(dir, layers, arch)` writes an OCI image layout (gzip layers made from
{path: bytes} dicts), tagged `latest`; `skopeo_copy` pushes it (or anything) with skopeo.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path
from typing import Any

from tests.registry_fixture import RegistryHandle


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o755, 1700000000
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def oci_layout(directory: Path, layers: list[dict[str, bytes] | bytes], arch: str = "amd64", tag: str = "latest",
               cmd: list[str] | None = None, compress: str = "gzip") -> Path:
    """An OCI layout with one image of gzip layers; returns `directory`."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def put(data: bytes) -> str:
        digest = _digest(data)
        (blobs / digest[7:]).write_bytes(data)
        return digest

    diff_ids, descs = [], []
    for files in layers:
        plain = files if isinstance(files, bytes) else layer_tar(files)
        diff_ids.append(_digest(plain))
        if compress == "none":
            packed, media = plain, "application/vnd.oci.image.layer.v1.tar"
        elif compress == "zstd":
            packed = subprocess.run(["zstd", "-q", "-c"], input=plain, capture_output=True, check=True).stdout
            media = "application/vnd.oci.image.layer.v1.tar+zstd"
        else:
            packed = gzip.compress(plain, compresslevel=1, mtime=0)
            media = "application/vnd.oci.image.layer.v1.tar+gzip"
        descs.append({"mediaType": media, "digest": put(packed), "size": len(packed)})
    variant = {"variant": "v8"} if arch == "arm64" else {}
    config: dict[str, Any] = {"architecture": arch, "os": "linux", **variant, "config": {"Cmd": cmd or ["sh"]},
                              "rootfs": {"type": "layers", "diff_ids": diff_ids},
                              "created": "2024-01-01T00:00:00Z"}
    raw_config = json.dumps(config).encode()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(raw_config),
                           "size": len(raw_config)}, "layers": descs}
    raw_manifest = json.dumps(manifest).encode()
    index = {"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(raw_manifest),
         "size": len(raw_manifest), "annotations": {"org.opencontainers.image.ref.name": tag},
         "platform": {"os": "linux", "architecture": arch}}]}
    (directory / "index.json").write_text(json.dumps(index))
    (directory / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    return directory


def skopeo_dest_flags(registry: RegistryHandle) -> list[str]:
    flags = [f"--dest-cert-dir={registry.ca.parent}"] if registry.ca else ["--dest-tls-verify=false"]
    if registry.users:
        user, password = next(iter(registry.users.items()))
        flags.append(f"--dest-creds={user}:{password}")
    return flags


def skopeo_src_flags(registry: RegistryHandle, prefix: str = "--src-") -> list[str]:
    """Source flags for `skopeo copy`; prefix "--" gives the flags of `skopeo inspect`."""
    return [f.replace("--dest-", prefix) for f in skopeo_dest_flags(registry)]


def skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"skopeo {' '.join(args)}: {done.stderr}"
    return done


def push_layout(layout: Path, registry: RegistryHandle, repo: str, tag: str = "latest", *extra: str) -> None:
    """Push the layout's `latest` image as registry/repo:tag with skopeo."""
    skopeo("copy", *skopeo_dest_flags(registry), *extra, f"oci:{layout}:latest",
           f"docker://{registry.host}/{repo}:{tag}")


def oci_multiarch_layout(directory: Path, images: dict[str, list[dict[str, bytes] | bytes]],
                         tag: str = "latest") -> Path:
    """An OCI layout whose `tag` is an image index with one image per architecture."""
    entries = []
    for arch, layers in images.items():
        oci_layout(directory, layers, arch=arch, tag=tag, cmd=["echo", arch])
        entries.append(json.loads((directory / "index.json").read_text())["manifests"][0])
    for entry in entries:
        entry.pop("annotations", None)
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": entries}).encode()
    digest = _digest(index)
    (directory / "blobs" / "sha256" / digest[7:]).write_bytes(index)
    top = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
                                              "digest": digest, "size": len(index),
                                              "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    (directory / "index.json").write_text(json.dumps(top))
    return directory


def push_multiarch(layout: Path, registry: RegistryHandle, repo: str, tag: str = "latest") -> None:
    skopeo("copy", "--all", *skopeo_dest_flags(registry), f"oci:{layout}:latest",
           f"docker://{registry.host}/{repo}:{tag}")


def busybox_layout(directory: Path, rootfs_tar: Path, arch: str = "amd64") -> Path:
    """busybox (Debian's busybox-static rootfs) as a one-layer OCI layout, CMD ["sh"]."""
    return oci_layout(directory, [rootfs_tar.read_bytes()], arch=arch, cmd=["sh"])


def big_layers(sizes: list[int], seed: int = 7) -> list[dict[str, bytes] | bytes]:
    """Layers of pseudo-random (incompressible) files of the given sizes, one file each."""
    import random

    rng = random.Random(seed)
    return [{f"data/layer{i}.bin": rng.randbytes(size)} for i, size in enumerate(sizes)]
