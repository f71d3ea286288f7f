"""Layer apply with a reuse offer: a file is hard-linked only when its bytes are the entry's."""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from pathlib import Path

import pytest

from runtime.images.layers import Offer, Reuse, apply_layer

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


def test_a_known_offer_on_another_device_is_copied_from_the_layer(tmp_path: Path) -> None:
    with tempfile.NamedTemporaryFile(dir="/dev/shm") as other:  # another file system: no hard link
        other.write(b"same\n" * 1000)
        other.flush()
        dest = tmp_path / "fs"
        dest.mkdir()
        apply_layer(one_file("f", b"same\n" * 1000), dest, reuse=lambda _m: Offer(os.open(other.name, os.O_RDONLY),
                                                                                   known=True))
        assert (dest / "f").read_bytes() == b"same\n" * 1000
        assert os.stat(dest / "f").st_ino != os.stat(other.name).st_ino


def test_a_known_offer_is_linked_without_reading(tmp_path: Path) -> None:
    previous = tmp_path / "previous"
    previous.write_bytes(b"same\n" * 1000)
    dest = tmp_path / "fs"
    dest.mkdir()
    apply_layer(one_file("f", b"same\n" * 1000), dest, reuse=lambda _m: Offer(os.open(previous, os.O_RDONLY),
                                                                               known=True))
    assert os.stat(dest / "f").st_ino == os.stat(previous).st_ino
