"""runtime.build.contexts: a context larger than what is kept in memory is spooled to the work
directory, unpacked the same, and the spool removed."""

from __future__ import annotations

import io
import os
import tarfile
import threading
from pathlib import Path

import pytest

from runtime.build import contexts, spool


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1_000_000
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.mark.parametrize("spill", [1 << 30, 4096])
def test_context_in_memory_or_spooled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spill: int) -> None:
    monkeypatch.setattr(spool, "SPILL", spill)
    monkeypatch.setattr(spool, "CHUNK", 1024)
    files = {"Dockerfile": b"FROM scratch\n", "big.bin": os.urandom(50_000), "a/b.txt": b"b\n"}
    state, work = tmp_path / "state", tmp_path / "work"
    state.mkdir()
    work.mkdir()
    with contexts.context_dir(state, io.BufferedReader(io.BytesIO(_tar(files))), work, "Dockerfile") as ctx:
        assert ctx.text == "FROM scratch\n"
        for name, data in files.items():
            assert (ctx.root / name).read_bytes() == data
    assert list(work.iterdir()) == []


def test_old_contexts_are_evicted_off_the_build_path(tmp_path: Path) -> None:
    state, work = tmp_path / "state", tmp_path / "work"
    state.mkdir()
    work.mkdir()
    for n in range(contexts.KEEP + 3):  # each unlike the last: not patched from it (test_context_patch.py)
        files = {"Dockerfile": f"FROM scratch\n# {n}\n".encode(), "n": str(n).encode()}
        body = io.BufferedReader(io.BytesIO(_tar(files)))
        with contexts.context_dir(state, body, work, "Dockerfile") as ctx:
            assert (ctx.root / "n").read_text() == str(n)
    root = contexts.build_root(state) / "contexts"
    for thread in [t for t in threading.enumerate() if t.name == "build-contexts-evict"]:
        thread.join(10)
    assert len([p for p in root.iterdir() if not p.name.startswith(".")]) == contexts.KEEP
    assert not list(root.glob(".old-*"))
    (root / ".old-left-by-a-stopped-engine" / "tree").mkdir(parents=True)  # deleted by the next eviction
    contexts.drop_unused(state)
    assert list(root.iterdir()) == []
