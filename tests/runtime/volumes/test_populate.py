"""Copying an image's content into a new volume: metadata kept, overlay layers merged, only once."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from runtime.images.layers import OPAQUE_XATTR
from runtime.volumes import VolumeStore
from runtime.volumes.populate import copy_directory, copy_image_path

pytestmark = pytest.mark.root


def make_tree(root: Path) -> None:
    root.mkdir(parents=True)
    os.chown(root, 999, 998)
    root.chmod(0o750)
    (root / "file").write_text("hello")
    os.chown(root / "file", 1000, 1001)
    (root / "file").chmod(0o640)
    os.utime(root / "file", ns=(1_000_000_000, 2_000_000_000))
    (root / "setuid").write_text("#!/bin/sh\n")
    os.chown(root / "setuid", 1000, 1000)
    (root / "setuid").chmod(0o4755)
    (root / "dir").mkdir()
    (root / "dir" / "inner").write_text("in")
    os.chown(root / "dir", 1000, 1000)
    (root / "dir").chmod(0o700)
    os.utime(root / "dir", ns=(3_000_000_000, 4_000_000_000))
    (root / "link").symlink_to("dir/inner")
    os.chown(root / "link", 1002, 1002, follow_symlinks=False)
    (root / "hard").hardlink_to(root / "file")
    os.mkfifo(root / "fifo", 0o620)
    os.mknod(root / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.setxattr(root / "file", "user.origin", b"image")


def test_copy_keeps_owners_modes_times_links_and_specials(tmp_path: Path) -> None:
    source, dest = tmp_path / "src", tmp_path / "dest"
    make_tree(source)
    dest.mkdir()
    assert copy_directory(source, dest)
    st = dest.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (999, 998, 0o750)
    f = (dest / "file").stat()
    assert (f.st_uid, f.st_gid, stat.S_IMODE(f.st_mode), f.st_mtime_ns) == (1000, 1001, 0o640, 2_000_000_000)
    assert (dest / "file").read_text() == "hello"
    assert os.getxattr(dest / "file", "user.origin") == b"image"
    assert stat.S_IMODE((dest / "setuid").stat().st_mode) == 0o4755
    d = (dest / "dir").stat()
    assert (d.st_uid, stat.S_IMODE(d.st_mode), d.st_mtime_ns) == (1000, 0o700, 4_000_000_000)
    assert os.readlink(dest / "link") == "dir/inner"
    assert (dest / "link").lstat().st_uid == 1002
    assert (dest / "hard").stat().st_ino == f.st_ino
    assert stat.S_ISFIFO((dest / "fifo").stat().st_mode)
    null = (dest / "null").stat()
    assert stat.S_ISCHR(null.st_mode) and null.st_rdev == os.makedev(1, 3)


def whiteout(path: Path) -> None:
    os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))


def test_layers_are_merged_as_overlay_would(tmp_path: Path) -> None:
    lower, upper, dest = tmp_path / "l0", tmp_path / "l1", tmp_path / "dest"
    for rel in ("data/a", "data/gone", "data/sub/x", "etc/conf"):
        (lower / rel).parent.mkdir(parents=True, exist_ok=True)
        (lower / rel).write_text("lower " + rel)
    (upper / "data" / "sub").mkdir(parents=True)
    (upper / "data" / "a").write_text("upper a")
    (upper / "data" / "c").write_text("upper c")
    whiteout(upper / "data" / "gone")
    os.setxattr(upper / "data" / "sub", OPAQUE_XATTR, b"y")
    (upper / "data" / "sub" / "y").write_text("upper y")
    (upper / "srv").symlink_to("/data")
    dest.mkdir()
    # The path goes through a symlink of the image, resolved inside the image.
    assert copy_image_path([lower, upper], "/srv", dest)
    found = sorted(str(p.relative_to(dest)) for p in dest.rglob("*"))
    assert found == ["a", "c", "sub", "sub/y"]
    assert (dest / "a").read_text() == "upper a"
    assert OPAQUE_XATTR not in os.listxattr(dest / "sub")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert not copy_image_path([lower, upper], "/data/gone", empty)
    assert not copy_image_path([lower, upper], "/nowhere", empty)
    assert not copy_image_path([lower, upper], "/etc/conf", empty)  # a file: nothing to copy into a volume
    assert copy_image_path([lower, upper], "/etc/../etc", empty) and (empty / "conf").is_file()


def test_populate_only_into_a_volume_never_seen_with_data(tmp_path: Path) -> None:
    store = VolumeStore(tmp_path / "volumes")
    source = tmp_path / "src"
    make_tree(source)
    store.create("fresh")
    assert not store.populate_from("fresh", tmp_path / "absent")  # nothing there: stays fresh
    assert store.populate_from("fresh", source)
    data = Path(store.inspect("fresh")["Mountpoint"])
    assert (data / "file").read_text() == "hello" and data.stat().st_uid == 999
    for child in data.iterdir():
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    assert not store.populate_from("fresh", source)  # emptied later: Docker's first use is over
    store.create("used")
    (Path(store.inspect("used")["Mountpoint"]) / "mine").write_text("x")
    assert not store.populate_from("used", source)
    assert not (Path(store.inspect("used")["Mountpoint"]) / "file").exists()
    # Remembered across a restart.
    assert not VolumeStore(tmp_path / "volumes").populate_from("fresh", source)


def test_populate_from_layers_through_the_store(tmp_path: Path) -> None:
    store = VolumeStore(tmp_path / "volumes")
    layer = tmp_path / "layer"
    (layer / "var" / "lib" / "app").mkdir(parents=True)
    (layer / "var" / "lib" / "app" / "seed").write_text("seed")
    os.chown(layer / "var" / "lib" / "app", 70, 70)
    name = store.anonymous("c" * 64)
    assert store.populate_from_layers(name, [layer], "/var/lib/app")
    data = Path(store.inspect(name)["Mountpoint"])
    assert (data / "seed").read_text() == "seed" and data.stat().st_uid == 70
