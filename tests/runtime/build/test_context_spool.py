"""runtime.build.contexts: a context larger than what is kept in memory is spooled to the work
directory, unpacked the same, and the spool removed."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from runtime.build import contexts


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
    monkeypatch.setattr(contexts, "SPILL", spill)
    monkeypatch.setattr(contexts, "CHUNK", 1024)
    files = {"Dockerfile": b"FROM scratch\n", "big.bin": os.urandom(50_000), "a/b.txt": b"b\n"}
    state, work = tmp_path / "state", tmp_path / "work"
    state.mkdir()
    work.mkdir()
    with contexts.context_dir(state, io.BufferedReader(io.BytesIO(_tar(files))), work, "Dockerfile") as ctx:
        assert ctx.text == "FROM scratch\n"
        for name, data in files.items():
            assert (ctx.root / name).read_bytes() == data
    assert list(work.iterdir()) == []
