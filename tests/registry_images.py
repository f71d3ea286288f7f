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


def oci_layout(directory: Path, layers: list[dict[str, bytes]], arch: str = "amd64", tag: str = "latest",
               cmd: list[str] | None = None) -> Path:
    """An OCI layout with one image of gzip layers; returns `directory`."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def put(data: bytes) -> str:
        digest = _digest(data)
        (blobs / digest[7:]).write_bytes(data)
        return digest

    diff_ids, descs = [], []
    for files in layers:
        plain = layer_tar(files)
        diff_ids.append(_digest(plain))
        packed = gzip.compress(plain, mtime=0)
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(packed),
                      "size": len(packed)})
    config: dict[str, Any] = {"architecture": arch, "os": "linux", "config": {"Cmd": cmd or ["sh"]},
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
