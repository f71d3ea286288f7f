"""Image store throughput: load and save of a ~170 MB image through ImageStore.

The image has three layers: incompressible random files, compressible text, and many small
files. Baselines, when skopeo is installed: `skopeo copy docker-archive: oci:` of the same
archive, and our load of the gzip OCI archive skopeo makes. Prints a table and writes
bench/results/image_bench.json.

    .venv/bin/python bench/image_bench.py [--scale 1.0] [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import timed, write_results
from runtime.images import ImageStore

MB = 1 << 20
WORDS = b"alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma".split()


def _text(size: int, rng: random.Random) -> bytes:
    out = bytearray()
    while len(out) < size:
        out += b" ".join(rng.choice(WORDS) for _ in range(12)) + b"\n"
    return bytes(out[:size])


def _layer(path: Path, files: list[tuple[str, Callable[[], bytes]]]) -> str:
    """Write a layer tar; returns its sha256 digest."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, make in files:
            data = make()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(MB):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def make_archive(work: Path, scale: float) -> Path:
    rng = random.Random(42)
    plans = [
        [(f"random/r{i}", lambda: os.urandom(2 * MB)) for i in range(int(30 * scale))],
        [(f"text/t{i}.txt", lambda: _text(100 * 1024, rng)) for i in range(int(600 * scale))],
        [(f"small/d{i // 100}/s{i}", lambda: os.urandom(10 * 1024)) for i in range(int(5000 * scale))],
    ]
    layers = []
    for n, plan in enumerate(plans):
        path = work / f"layer{n}.tar"
        layers.append((path, _layer(path, plan)))
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["sh"]}, "rootfs": {"type": "layers", "diff_ids": [d for _, d in layers]},
    }).encode()
    config_name = "blobs/sha256/" + hashlib.sha256(config).hexdigest()
    manifest = [{"Config": config_name, "RepoTags": ["bench:latest"],
                 "Layers": ["blobs/sha256/" + d[7:] for _, d in layers]}]
    archive = work / "image.tar"
    with tarfile.open(archive, "w") as tar:
        for path, digest in layers:
            tar.add(path, "blobs/sha256/" + digest[7:])
            path.unlink()
        for name, data in ((config_name, config), ("manifest.json", json.dumps(manifest).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive


def run(scale: float, keep: bool) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="image-bench-", dir="/var/tmp"))
    rows: list[dict[str, Any]] = []

    def row(name: str, seconds: float, size: int) -> None:
        rows.append({"step": name, "seconds": round(seconds, 3), "MB": round(size / MB, 1),
                     "MB_per_s": round(size / MB / seconds, 1)})

    try:
        archive = make_archive(work, scale)
        size = archive.stat().st_size
        store = ImageStore(work / "root")

        def load(path: Path) -> Callable[[], Any]:
            def go() -> None:
                with open(path, "rb") as f:
                    store.load(f)
            return go

        row("ImageStore.load docker-archive", timed(load(archive)), size)
        saved = work / "saved.tar"

        def save() -> None:
            with open(saved, "wb") as f:
                store.save(["bench:latest"], f)

        row("ImageStore.save docker-archive", timed(save), size)
        oci_saved = work / "saved-oci.tar"

        def save_oci() -> None:
            with open(oci_saved, "wb") as f:
                store.save_oci(["bench:latest"], f)

        row("ImageStore.save_oci", timed(save_oci), size)
        store.remove("bench:latest")
        row("ImageStore.load docker-archive (our save)", timed(load(saved)), saved.stat().st_size)
        store.remove("bench:latest")
        skopeo = shutil.which("skopeo")
        peer: str | bool = bool(skopeo)
        try:
            if skopeo:
                oci_dir, oci_gz = work / "oci-dir", work / "skopeo-oci.tar"
                seconds = timed(lambda: subprocess.run(
                    [skopeo, "copy", "-q", f"docker-archive:{archive}", f"oci:{oci_dir}:bench"], check=True,
                    capture_output=True))
                row("skopeo copy docker-archive -> oci dir (baseline)", seconds, size)
                subprocess.run([skopeo, "copy", "-q", f"docker-archive:{archive}", f"oci-archive:{oci_gz}:bench:gz"],
                               check=True, capture_output=True)
                row("ImageStore.load oci-archive (gzip layers, from skopeo)", timed(load(oci_gz)), size)
        except subprocess.CalledProcessError as exc:  # the peer refuses: said, not a crash
            peer = f"not supported: exit {exc.returncode}: {exc.stderr.decode(errors='replace').strip()}"
        store.close()
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    return {"archive_MB": round(size / MB, 1), "scale": scale, "cpus": os.cpu_count(), "rows": rows,
            "skopeo": peer}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="size factor (1.0 is ~170 MB)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    result = run(args.scale, args.keep)
    width = max(len(r["step"]) for r in result["rows"])
    print(f"image archive: {result['archive_MB']} MB")
    print(f"{'step':<{width}}  {'seconds':>8}  {'MB/s':>8}")
    for r in result["rows"]:
        print(f"{r['step']:<{width}}  {r['seconds']:>8.2f}  {r['MB_per_s']:>8.1f}")
    if not result["skopeo"]:
        print("skopeo not installed: no baseline (Debian package skopeo)")
    elif result["skopeo"] is not True:
        print(f"skopeo {result['skopeo']}")
    write_results("image_bench", result)


if __name__ == "__main__":
    main()
