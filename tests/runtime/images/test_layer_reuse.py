"""Layer apply with a reuse offer: a file is hard-linked only when its bytes are the entry's."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from runtime.images.layers import Reuse, apply_layer

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="ownership needs root")


def one_file(name: str, data: bytes) -> io.BytesIO:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), 0o644, 0
        tar.addfile(info, io.BytesIO(data))
    out.seek(0)
    return out


def offer(path: Path) -> Reuse:
    return lambda _member: os.open(path, os.O_RDONLY)


@pytest.mark.parametrize("old, new", [
    (b"b.txt\n.dockerfile.1\n", b"a.txt\n.dockerfile.2\n"),  # same size, different from the first byte
    (b"x" * 3_000_000 + b"1", b"x" * 3_000_000 + b"2"),  # differs after several chunks
])
def test_a_same_sized_different_file_is_written_not_linked(tmp_path: Path, old: bytes, new: bytes) -> None:
    previous = tmp_path / "previous"
    previous.write_bytes(old)
    dest = tmp_path / "fs"
    dest.mkdir()
    apply_layer(one_file("f", new), dest, reuse=offer(previous))
    assert (dest / "f").read_bytes() == new
    assert os.stat(dest / "f").st_nlink == 1 and previous.read_bytes() == old


def test_an_identical_file_is_linked(tmp_path: Path) -> None:
    previous = tmp_path / "previous"
    previous.write_bytes(b"same\n" * 1000)
    dest = tmp_path / "fs"
    dest.mkdir()
    apply_layer(one_file("f", b"same\n" * 1000), dest, reuse=offer(previous))
    assert os.stat(dest / "f").st_ino == os.stat(previous).st_ino
