"""Put an image into a test registry straight over the distribution API, independent of the engine.

The CLI tests pull images that must already be in a registry; seeding them
with the engine's own push would test the thing with itself. Layers are
gzip tars, the config and a schema-2 manifest are built here; Basic auth
when the registry wants it.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import platform
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
CONFIG = "application/vnd.docker.container.image.v1+json"
ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def file_layer(files: dict[str, str]) -> bytes:
    """An uncompressed layer tar holding `files` (path -> text)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _request(url: str, method: str, data: bytes | None, headers: dict[str, str],
             auth: tuple[str, str] | None) -> tuple[int, dict[str, str], bytes]:
    if auth:
        headers = {**headers, "Authorization": "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=30) as answer:
        return answer.status, dict(answer.headers), answer.read()


def _upload(base: str, repo: str, blob: bytes, auth: tuple[str, str] | None) -> str:
    digest = _digest(blob)
    _, headers, _ = _request(f"{base}/v2/{repo}/blobs/uploads/", "POST", b"", {}, auth)
    location = headers["Location"]
    if location.startswith("/"):
        location = base + location
    sep = "&" if "?" in location else "?"
    _request(f"{location}{sep}digest={digest}", "PUT", blob, {"Content-Type": "application/octet-stream"}, auth)
    return digest


def seed_image(url: str, repo: str, tag: str, layers: list[bytes], cmd: list[str] | None = None,
               auth: tuple[str, str] | None = None) -> str:
    """Upload `layers` (uncompressed tars) as `repo:tag`; the manifest's digest."""
    compressed = [gzip.compress(layer, mtime=0) for layer in layers]
    config = {
        "architecture": ARCH, "os": "linux", "created": "2026-01-01T00:00:00Z",
        "config": {"Cmd": cmd or ["sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [_digest(layer) for layer in layers]},
        "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "seed"} for _ in layers],
    }
    config_blob = json.dumps(config).encode()
    manifest = {
        "schemaVersion": 2, "mediaType": MANIFEST,
        "config": {"mediaType": CONFIG, "size": len(config_blob), "digest": _upload(url, repo, config_blob, auth)},
        "layers": [{"mediaType": LAYER, "size": len(blob), "digest": _upload(url, repo, blob, auth)}
                   for blob in compressed],
    }
    body = json.dumps(manifest).encode()
    _request(f"{url}/v2/{repo}/manifests/{tag}", "PUT", body, {"Content-Type": MANIFEST}, auth)
    return _digest(body)


def busybox_layers(rootfs: Path, version: str) -> list[bytes]:
    """busybox's rootfs plus a layer with /version (so two versions differ)."""
    return [rootfs.read_bytes(), file_layer({"version": version + "\n"})]


def manifest_exists(url: str, repo: str, tag: str, auth: tuple[str, str] | None = None) -> bool:
    try:
        accept = ", ".join([MANIFEST, "application/vnd.oci.image.manifest.v1+json",
                            "application/vnd.oci.image.index.v1+json",
                            "application/vnd.docker.distribution.manifest.list.v2+json"])
        status, _, _ = _request(f"{url}/v2/{repo}/manifests/{tag}", "HEAD", None, {"Accept": accept}, auth)
    except urllib.error.HTTPError:
        return False
    return status == 200
