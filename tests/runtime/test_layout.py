"""The state root's modes: made as dockerd makes /var/lib/docker, and fixed at boot on older roots."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from runtime import layout
from tests.engine_fixture import start_private_engine

EXPECTED = {
    ".": 0o711,
    "containers": 0o710,
    "images": 0o710,
    "images/snapshots": 0o710,
    "images/blobs": 0o700,
    "volumes": 0o701,
    "networks": 0o700,
    "supervisor": 0o700,
    "engine-id": 0o600,
}


def _modes(root: Path) -> dict[str, int]:
    return {name: stat.S_IMODE(os.stat(root / name).st_mode) for name in EXPECTED}


def _old_root(root: Path) -> None:
    """A root as an older engine left it: everything 0755, the id world-readable."""
    for name in ("images/snapshots", "images/blobs", "containers", "volumes", "networks", "supervisor"):
        (root / name).mkdir(parents=True, exist_ok=True)
    for path in [root, *root.rglob("*")]:
        os.chmod(path, 0o755)
    (root / "engine-id").write_text(os.urandom(2).hex() + "\n")
    os.chmod(root / "engine-id", 0o644)


def test_prepare_makes_the_root_only(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        layout.prepare(tmp_path / "root")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "root").st_mode) == 0o711
    assert list((tmp_path / "root").iterdir()) == []  # the stores make theirs when first opened


def test_prepare_fixes_an_old_root(tmp_path: Path) -> None:
    _old_root(tmp_path / "root")
    layout.prepare(tmp_path / "root")
    assert _modes(tmp_path / "root") == EXPECTED


def test_prepare_refuses_a_symlink_in_place_of_a_directory(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (root / "containers").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OSError):
        layout.prepare(root)


@pytest.mark.root
@pytest.mark.timeout(60)
def test_the_engine_boots_with_dockers_modes(tmp_path: Path) -> None:
    import docker

    _old_root(tmp_path / "old" / "root")
    for where in (tmp_path / "old", tmp_path / "new"):
        handle = start_private_engine(where)
        try:
            client = docker.APIClient(base_url=handle.host)
            try:  # the image and volume stores open on first use: their modes too
                client.images()
                client.volumes()
            finally:
                client.close()
            assert _modes(handle.root) == EXPECTED, where
        finally:
            handle.stop()
