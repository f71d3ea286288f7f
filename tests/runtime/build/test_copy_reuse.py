"""runtime.build.copy_reuse: a COPY tar that starts like the last one written for its step begins
with that blob's bytes (copied, their hash state kept) and ends byte for byte as a fresh write."""

from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path

import pytest

from runtime.build import copy_reuse, copy_tar
from runtime.build.copying import select
from runtime.store.blobs import BlobStore
from tests.engine_fixture import EngineHandle
from tests.runtime.build.clients import docker, write


def _context(root: Path) -> Path:
    rng = random.Random(5)
    (root / "app" / "src").mkdir(parents=True)
    (root / "app" / "big.bin").write_bytes(rng.randbytes(3 * copy_reuse.CHECK_EVERY))
    for i in range(400):
        (root / "app" / "src" / f"f{i:03}.txt").write_text(f"file {i}\n" * 20)
    for path in (root / "app").rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    return root


Written = tuple[str, tuple[int, int], copy_reuse.Trace]  # the blob, where it resumed, its trace


def _write(store: BlobStore, ctx: Path, previous: copy_reuse.Trace | None) -> Written:
    ops = copy_tar.plan_tar(select(ctx, ["app/"]), "/app/", dest_is_dir=True)
    recorder = copy_reuse.Recorder(ops, previous, store.path)
    with store.writer() as writer:
        started = recorder.start(writer)
        copy_tar.emit_tar(ops, writer, start=started[0], offset=started[1],  # type: ignore[arg-type]
                          boundary=recorder.boundary, replay=recorder)
        digest = writer.commit()
    recorder.close()
    return digest, started, recorder.trace()


def _replace(path: Path, text: str) -> None:
    """As a context patch does: a new file in its place, never a write into the old one."""
    fresh = path.with_suffix(".new")
    fresh.write_text(text)
    os.utime(fresh, (1_700_000_000, 1_700_000_000))
    os.replace(fresh, path)


def test_a_tar_resumes_from_the_last_checkpoint_before_the_change(tmp_path: Path) -> None:
    ctx = _context(tmp_path / "ctx")
    store = BlobStore(tmp_path / "blobs")
    first, started, trace = _write(store, ctx, None)
    assert started == (0, 0)
    again, started, trace = _write(store, ctx, trace)
    assert again == first and started[0] == len(trace.keys)  # all of it, up to the end blocks
    _replace(ctx / "app" / "src" / "f200.txt", "changed\n")
    changed, started, trace = _write(store, ctx, trace)
    fresh, _, _ = _write(BlobStore(tmp_path / "fresh"), ctx, None)
    assert changed == fresh != first
    assert 1 <= started[0] <= 202 and started[1] >= 3 * copy_reuse.CHECK_EVERY  # the big file's bytes adopted
    assert "sha256:" + hashlib.sha256(store.path(changed).read_bytes()).hexdigest() == changed


def test_a_file_written_in_place_is_read_again(tmp_path: Path) -> None:
    ctx = _context(tmp_path / "ctx")
    store = BlobStore(tmp_path / "blobs")
    _, _, trace = _write(store, ctx, None)
    big = ctx / "app" / "big.bin"
    data = bytearray(big.read_bytes())
    data[10] ^= 1
    with open(big, "r+b") as f:  # same inode, size and mtime: only its ctime tells
        f.write(bytes(data))
    os.utime(big, (1_700_000_000, 1_700_000_000))
    changed, started, _ = _write(store, ctx, trace)
    assert started == (0, 0)
    assert changed == _write(BlobStore(tmp_path / "fresh"), ctx, None)[0]


@pytest.mark.root
def test_a_rebuilt_copy_layer_is_the_layer_a_fresh_build_writes(engine: EngineHandle, busybox: str,
                                                                 tmp_path: Path) -> None:
    ctx = _context(tmp_path / "ctx")
    write(ctx, {"Dockerfile": f"FROM {busybox}\nWORKDIR /app\nCOPY app/ /app/\nRUN cat /app/src/f200.txt\n"})

    def copy_layer(tag: str) -> str:
        return json.loads(docker(engine, "image", "inspect", tag).stdout)[0]["RootFS"]["Layers"][-2]

    docker(engine, "build", "-t", "reuse:1", str(ctx))
    (ctx / "app" / "src" / "f200.txt").write_text("changed\n")
    docker(engine, "build", "-t", "reuse:2", str(ctx))
    docker(engine, "build", "--no-cache", "-t", "reuse:3", str(ctx))
    assert copy_layer("reuse:2") == copy_layer("reuse:3") != copy_layer("reuse:1")
    assert docker(engine, "run", "--rm", "reuse:2", "cat", "/app/src/f200.txt").stdout == "changed\n"
    docker(engine, "rmi", "reuse:1", "reuse:2", "reuse:3")


def test_runs_after_a_change_are_copied_and_shifted(tmp_path: Path) -> None:
    ctx = _context(tmp_path / "ctx")
    store = BlobStore(tmp_path / "blobs")
    _, _, trace = _write(store, ctx, None)
    edits = [
        {"src/f100.txt": "longer now\n" * 300, "src/f300.txt": "x\n"},  # sizes change: what follows shifts
        {"src/f399.txt": "the last one\n"},
        {"src/f150.5.txt": "a new file between two\n"},  # members no longer in the same places
        {"big.bin": "small now\n"},
    ]
    for number, edit in enumerate(edits):
        for name, text in edit.items():
            _replace(ctx / "app" / name, text)
        digest, _, trace = _write(store, ctx, trace)
        assert digest == _write(BlobStore(tmp_path / f"fresh{number}"), ctx, None)[0], edit
