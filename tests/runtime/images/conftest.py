"""Fixtures: private image stores under a real filesystem, and a busybox image."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.images import ImageStore
from tests.runtime.images.busybox import build_busybox_rootfs_tar, busybox_available, import_busybox


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ImageStore]:
    s = ImageStore(tmp_path / "root")
    yield s
    s.close()


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not busybox_available():
        pytest.skip("Debian's busybox-static (/bin/busybox) is not installed")
    return build_busybox_rootfs_tar(tmp_path_factory.mktemp("busybox") / "rootfs.tar")


@pytest.fixture
def busybox(store: ImageStore, busybox_tar: Path) -> str:
    """busybox:latest in `store`, made by import; returns its image ID."""
    return import_busybox(store, busybox_tar)
