"""Layer apply: whiteouts into overlay form, and malicious layers that must not escape."""

from __future__ import annotations

import io
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from runtime.images import ImageInvalid, ImageStore, LayerError
from runtime.images.layers import OPAQUE_XATTR, apply_layer
from tests.runtime.images.archives import Img, docker_archive, layer_tar

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="whiteouts and ownership need root")


def apply(entries: list[tuple[Any, ...]], dest: Path) -> list[str]:
    dest.mkdir(parents=True, exist_ok=True)
    return apply_layer(io.BytesIO(layer_tar(entries)), dest).skipped


def test_files_dirs_links_and_metadata(tmp_path: Path) -> None:
    fs = tmp_path / "fs"
    apply(
        [
            ("etc", "dir", 0o755),
            ("etc/conf", "file", b"hello", 0o4755),
            ("etc/link", "sym", "/etc/conf"),
            ("etc/hard", "hard", "etc/conf"),
            ("./var/./deep/x", "file", b"x"),
            ("fifo", "fifo"),
        ],
        fs,
    )
    assert (fs / "etc/conf").read_bytes() == b"hello"
    assert stat.S_IMODE((fs / "etc/conf").stat().st_mode) == 0o4755
    assert os.readlink(fs / "etc/link") == "/etc/conf"
    assert (fs / "etc/hard").stat().st_ino == (fs / "etc/conf").stat().st_ino
    assert (fs / "var/deep/x").read_bytes() == b"x"
    assert stat.S_ISFIFO((fs / "fifo").lstat().st_mode)
    assert (fs / "etc").stat().st_mtime == 1_700_000_000


def test_later_entries_replace_earlier(tmp_path: Path) -> None:
    fs = tmp_path / "fs"
    apply([("a", "file", b"1"), ("a", "file", b"2"), ("d", "dir"), ("d/x", "file", b"x"), ("d", "file", b"f")], fs)
    assert (fs / "a").read_bytes() == b"2"
    assert (fs / "d").read_bytes() == b"f"


def test_whiteouts_become_overlay_whiteouts(tmp_path: Path) -> None:
    fs = tmp_path / "fs"
    apply([("gone", "file", b"?"), (".wh.gone", "file", b""), ("dir/.wh..wh..opq", "file", b""),
           ("dir/kept", "file", b"k"), ("sub/.wh.other", "file", b"")], fs)
    for name in ("gone", "sub/other"):
        st = (fs / name).lstat()
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0)
    assert os.getxattr(fs / "dir", OPAQUE_XATTR) == b"y"
    assert not (fs / ".wh.gone").exists() and not (fs / "dir/.wh..wh..opq").exists()
    assert (fs / "dir/kept").read_bytes() == b"k"


def test_overlay_sees_whiteouts(tmp_path: Path) -> None:
    lower, upper, merged = tmp_path / "l", tmp_path / "u", tmp_path / "m"
    apply([("a", "file", b"a"), ("b", "file", b"b"), ("d/old", "file", b"o")], lower)
    apply([(".wh.a", "file", b""), ("d/.wh..wh..opq", "file", b""), ("d/new", "file", b"n")], upper)
    merged.mkdir()
    mount = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={upper}:{lower}", str(merged)],
                           capture_output=True, text=True)
    if mount.returncode != 0:
        pytest.skip(f"cannot mount overlay here: {mount.stderr.strip()}")
    try:
        assert sorted(os.listdir(merged)) == ["b", "d"]
        assert os.listdir(merged / "d") == ["new"]
    finally:
        subprocess.run(["umount", str(merged)], check=True)


def test_device_nodes_are_neutralised(tmp_path: Path) -> None:
    fs = tmp_path / "fs"
    skipped = apply([("dev/sda", "blk", (8, 0)), ("dev/mem", "chr", (1, 1)), ("ok", "file", b"")], fs)
    assert not (fs / "dev/sda").exists() and not (fs / "dev/mem").exists()
    assert (fs / "ok").exists()
    assert any("dev/sda" in s and "block device 8:0" in s for s in skipped)


MALICIOUS: dict[str, list[tuple[Any, ...]]] = {
    "absolute path": [("/SENTINEL/evil", "file", b"pwned")],
    "dot-dot": [("../SENTINEL/evil", "file", b"pwned")],
    "dot-dot inside": [("a/../../SENTINEL/evil", "file", b"pwned")],
    "symlink then write through": [("link", "sym", "../../SENTINEL"), ("link/evil", "file", b"pwned")],
    "absolute symlink then write through": [("link", "sym", "/SENTINEL"), ("link/evil", "file", b"pwned")],
    "symlink dir then whiteout through": [("link", "sym", "../../SENTINEL"), ("link/.wh.keep", "file", b"")],
    "symlink then opaque through": [("link", "sym", "../../SENTINEL"), ("link/.wh..wh..opq", "file", b"")],
    "hardlink to outside": [("evil", "hard", "../SENTINEL/keep")],
    "hardlink absolute": [("evil", "hard", "/SENTINEL/keep")],
    "hardlink through symlink": [("link", "sym", "../../SENTINEL"), ("evil", "hard", "link/keep")],
}


@pytest.mark.parametrize("case", sorted(MALICIOUS))
def test_malicious_layers_refused_and_nothing_escapes(tmp_path: Path, case: str) -> None:
    # The snapshot fs sits at root/snapshots/<tmp>/fs: "../../SENTINEL" from there and
    # "/SENTINEL" are both replaced by a sentinel dir placed where an escape would land.
    root = tmp_path / "root"
    store = ImageStore(root)
    sentinels = [tmp_path / "SENTINEL", root / "SENTINEL", root / "snapshots" / "SENTINEL", Path("/SENTINEL")]
    for s in sentinels[:3]:
        s.mkdir(parents=True)
        (s / "keep").write_text("keep")
    before = {p: sorted(os.listdir(p)) for p in sentinels[:3]}
    archive = docker_archive([Img([layer_tar(MALICIOUS[case])], ["evil:latest"])])
    try:
        with pytest.raises(LayerError) as info:
            store.load(io.BytesIO(archive))
        assert "refusing" in str(info.value) or "not in this layer" in str(info.value)
        assert {p: sorted(os.listdir(p)) for p in sentinels[:3]} == before
        assert all((p / "keep").read_text() == "keep" for p in sentinels[:3])
        assert not Path("/SENTINEL").exists()
        assert store.list_summaries() == []
        assert [p.name for p in (root / "snapshots").iterdir()] == ["SENTINEL"]
        assert list((root / "blobs" / "sha256").iterdir()) == []
    finally:
        store.close()


def test_layer_error_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(ImageInvalid, match="absolute path"):
        apply([("/etc/passwd", "file", b"x")], tmp_path / "fs")


def test_hardlink_to_missing_target(tmp_path: Path) -> None:
    with pytest.raises(LayerError, match="not in this layer"):
        apply([("a", "hard", "nowhere")], tmp_path / "fs")


def test_diff_id_mismatch_is_refused(store: ImageStore) -> None:
    layer = layer_tar([("a", "file", b"1")])
    other = layer_tar([("a", "file", b"2")])
    from tests.runtime.images.archives import config_for

    img = Img([layer], ["x:1"], config=config_for([other]))
    with pytest.raises(LayerError, match="DiffID"):
        store.load(io.BytesIO(docker_archive([img])))
    assert store.list_summaries() == []
