"""The local driver's device volumes for real: tmpfs and bind mounts at `_data`, mounted on first use.

State roots sit under /tmp/pyc-vol-* so the suite's leak check sees any
mount a test would leave behind.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.linux.mounts import unmount_tree
from runtime.volumes import VolumeFailure, VolumeStore

pytestmark = [pytest.mark.root, pytest.mark.timeout(60)]

TMPFS = {"type": "tmpfs", "device": "tmpfs", "o": "size=2m,mode=0750"}


@pytest.fixture
def root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="pyc-vol-"))
    try:
        yield path
    finally:
        unmount_tree(str(path))
        shutil.rmtree(path, ignore_errors=True)


def mounts(path: Path) -> list[tuple[str, str]]:
    """(fstype, super options) of each mount exactly at `path`."""
    out = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if fields[4] == str(path):
            sep = fields.index("-")
            out.append((fields[sep + 1], fields[sep + 3]))
    return out


def test_tmpfs_volume_is_mounted_on_first_use_and_unmounted_on_remove(root: Path) -> None:
    store = VolumeStore(root / "volumes")
    volume = store.create("scratch", driver_opts=TMPFS)
    data = Path(volume["Mountpoint"])
    assert mounts(data) == []  # creating mounts nothing
    assert store.mountpoint("scratch") == data
    ((fstype, options),) = mounts(data)
    assert fstype == "tmpfs" and "size=2048k" in options and "mode=750" in options
    store.acquire("scratch", "c" * 64)
    assert len(mounts(data)) == 1  # used again: not mounted twice
    (data / "file").write_bytes(b"x" * 100)
    # An engine restart finds the mount the kernel kept.
    again = VolumeStore(root / "volumes")
    assert again.mountpoint("scratch") == data and len(mounts(data)) == 1
    again.release("scratch", "c" * 64)
    again.remove("scratch")
    assert mounts(data) == [] and not (root / "volumes" / "scratch").exists()


def test_bind_device_keeps_the_host_directory(root: Path) -> None:
    host = root / "host-data"
    host.mkdir()
    (host / "keep").write_text("precious")
    store = VolumeStore(root / "volumes")
    store.create("bound", driver_opts={"type": "none", "device": str(host), "o": "bind"})
    data = store.acquire("bound", "c" * 64)
    assert (data / "keep").read_text() == "precious"
    (data / "new").write_text("written through the volume")
    with pytest.raises(Exception, match="volume is in use"):
        store.remove("bound")
    store.release("bound", "c" * 64)
    store.remove("bound")
    assert mounts(data) == []
    assert (host / "keep").read_text() == "precious" and (host / "new").is_file()


def test_read_only_bind(root: Path) -> None:
    host = root / "ro-src"
    host.mkdir()
    store = VolumeStore(root / "volumes")
    store.create("ro", driver_opts={"type": "none", "device": str(host), "o": "bind,ro"})
    data = store.mountpoint("ro")
    with pytest.raises(OSError) as info:
        (data / "x").write_text("no")
    assert info.value.errno == errno.EROFS
    store.remove("ro")
    assert mounts(data) == []


def test_mount_failure_says_what_docker_says(root: Path) -> None:
    store = VolumeStore(root / "volumes")
    store.create("broken", driver_opts={"type": "none", "device": str(root / "absent"), "o": "bind"})
    data = root / "volumes" / "broken" / "_data"
    with pytest.raises(VolumeFailure) as info:
        store.acquire("broken", "c" * 64)
    assert info.value.status == 500
    assert info.value.message == (f"error while mounting volume '{data}': failed to mount local volume: "
                                  f"mount {root / 'absent'}:{data}, flags: 0x1000: no such file or directory")
    assert mounts(data) == []


def test_prune_unmounts_and_counts_what_it_frees(root: Path) -> None:
    store = VolumeStore(root / "volumes")
    name = store.create(driver_opts=TMPFS)["Name"]
    data = store.mountpoint(name)
    (data / "blob").write_bytes(b"y" * 4096)
    assert store.prune() == {"VolumesDeleted": [name], "SpaceReclaimed": 4096}
    assert mounts(data) == [] and not os.path.lexists(data)


def test_populate_copies_into_the_mounted_device(root: Path) -> None:
    source = root / "image-dir"
    source.mkdir()
    (source / "seed").write_text("seed")
    store = VolumeStore(root / "volumes")
    store.create("seeded", driver_opts=TMPFS)
    assert store.populate_from("seeded", source)
    data = root / "volumes" / "seeded" / "_data"
    assert len(mounts(data)) == 1 and (data / "seed").read_text() == "seed"
    store.remove("seeded")
    assert mounts(data) == []
