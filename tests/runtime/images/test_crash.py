"""kill -9 during a load: the next ImageStore(root) opens, repairs and serves; no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from runtime.images import ImageStore
from tests.runtime.images.archives import Img, docker_archive, layer_tar

ROOT = Path(__file__).resolve().parents[3]
LAYERS, FILES, FILE_SIZE = 4, 40, 512 * 1024  # ~80 MB
LOADER = (
    "import sys; from pathlib import Path; from runtime.images import ImageStore; "
    "s = ImageStore(Path(sys.argv[1])); f = open(sys.argv[2], 'rb'); print(s.load(f), flush=True)"
)


@pytest.fixture(scope="module")
def big_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    layers = [
        layer_tar([(f"l{n}", "dir")] + [(f"l{n}/f{i}", "file", os.urandom(FILE_SIZE)) for i in range(FILES)])
        for n in range(LAYERS)
    ]
    path = tmp_path_factory.mktemp("crash") / "big.tar"
    path.write_bytes(docker_archive([Img(layers, ["big:1"])]))
    return path


def _any(path: Path, prefix: str) -> bool:
    try:
        return any(name.startswith(prefix) for name in os.listdir(path))
    except FileNotFoundError:
        return False


def _complete_snapshots(root: Path) -> int:
    try:
        return sum(1 for n in os.listdir(root / "snapshots") if not n.startswith("."))
    except FileNotFoundError:
        return 0


KILL_POINTS: dict[str, Callable[[Path], bool]] = {
    "while ingesting blobs": lambda root: _any(root / "blobs" / "ingest", "ingest-"),
    "while applying a layer": lambda root: _any(root / "snapshots", ".tmp-"),
    "after two snapshots": lambda root: _complete_snapshots(root) >= 2,
    "after the last snapshot": lambda root: _complete_snapshots(root) >= LAYERS,
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_sigkill_mid_load_leaves_a_store_that_repairs(tmp_path: Path, big_archive: Path, point: str) -> None:
    root = tmp_path / "root"
    proc = subprocess.Popen([sys.executable, "-c", LOADER, str(root), str(big_archive)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    reached = KILL_POINTS[point]
    deadline = time.monotonic() + 60
    while proc.poll() is None and not reached(root) and time.monotonic() < deadline:
        time.sleep(0.0005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if point != "after the last snapshot":  # that window is short: the load may win the race
        assert proc.stderr is not None
        assert proc.returncode == -signal.SIGKILL, f"the load ended before the kill point: {proc.stderr.read()!r}"

    store = ImageStore(root)
    try:
        assert not _any(root / "blobs" / "ingest", "")
        assert not _any(root / "snapshots", ".")
        images = store.list_summaries()
        if images:  # complete, or absent: nothing in between
            assert [s["RepoTags"] for s in images] == [["big:1"]]
            layers = store.rootfs_layers("big:1")
            assert len(layers) == LAYERS
            for n, fs in enumerate(layers):
                files = sorted(os.listdir(fs / f"l{n}"))
                assert len(files) == FILES and all((fs / f"l{n}" / f).stat().st_size == FILE_SIZE for f in files)
        else:
            assert os.listdir(root / "blobs" / "sha256") == []
            assert os.listdir(root / "snapshots") == []
        store.prune(dangling_only=False)
        assert os.listdir(root / "blobs" / "sha256") == []
        assert os.listdir(root / "snapshots") == []
        # and it serves: the same archive loads whole now
        with open(big_archive, "rb") as f:
            assert store.load(f) == ["Loaded image: big:1"]
        assert len(store.rootfs_layers("big:1")) == LAYERS
    finally:
        store.close()
