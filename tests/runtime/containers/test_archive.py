"""Extracting a tar into a container's upper dir through its merged view (no container needed)."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from runtime.containers.archive import MergedView, put_archive, stat_path
from runtime.errors import EngineError
from runtime.images.layers import OPAQUE_XATTR

pytestmark = pytest.mark.root  # chown and trusted.* xattrs


def tar_of(*entries: tuple[str, bytes | None, int], uid: int = 0, gid: int = 0) -> io.BytesIO:
    """(name, content or None for a directory, mode) entries."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, content, mode in entries:
            info = tarfile.TarInfo(name)
            info.mode, info.uid, info.gid = mode, uid, gid
            if content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    out.seek(0)
    return out


@pytest.fixture
def layers(tmp_path: Path) -> tuple[Path, list[Path]]:
    """An image of two layers (tmp 1777, run -> var/run symlink, a file deleted by the top layer)."""
    low, high, upper = tmp_path / "low", tmp_path / "high", tmp_path / "upper"
    for d in (low, high, upper):
        d.mkdir()
    (low / "tmp").mkdir()
    os.chmod(low / "tmp", 0o1777)
    (low / "etc").mkdir(mode=0o755)
    (low / "etc" / "old").write_text("old")
    (low / "var" / "run").mkdir(parents=True)
    os.chown(low / "var" / "run", 7, 8)
    (low / "run").symlink_to("/var/run")
    (high / "etc").mkdir()
    os.mknod(high / "etc" / "old", stat.S_IFCHR, os.makedev(0, 0))  # a whiteout
    (low / "data").write_text("file")
    return upper, [high, low]


def test_files_land_in_the_upper_dir_with_their_mode_and_owner(layers: tuple[Path, list[Path]]) -> None:
    upper, lowers = layers
    put_archive(upper, lowers, "/", tar_of(("run/secrets/token", b"s3cret", 0o440), uid=1000, gid=1001))
    # run is a symlink to /var/run in the image: the file follows it, as inside the container
    written = upper / "var" / "run" / "secrets" / "token"
    assert written.read_bytes() == b"s3cret"
    st = written.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o440, 1000, 1001)
    assert not (upper / "run").exists()
    # parents copied up as the image has them; new ones 0755
    assert (upper / "var" / "run").stat().st_uid == 7
    assert stat.S_IMODE((upper / "var" / "run" / "secrets").stat().st_mode) == 0o755


def test_parents_keep_the_image_mode(layers: tuple[Path, list[Path]]) -> None:
    upper, lowers = layers
    put_archive(upper, lowers, "/tmp", tar_of(("x", b"1", 0o644)))
    assert stat.S_IMODE((upper / "tmp").stat().st_mode) == 0o1777
    assert (upper / "tmp" / "x").read_text() == "1"


def test_absolute_names_go_under_the_path_and_the_root_entry_changes_nothing(
        layers: tuple[Path, list[Path]]) -> None:
    upper, lowers = layers
    put_archive(upper, lowers, "/tmp", tar_of((".", None, 0o700), ("/abs.conf", b"a", 0o444)))
    assert (upper / "tmp" / "abs.conf").read_text() == "a"
    assert stat.S_IMODE((upper / "tmp").stat().st_mode) == 0o1777


def test_a_deleted_directory_comes_back_empty(layers: tuple[Path, list[Path]], tmp_path: Path) -> None:
    upper, lowers = layers
    os.mknod(upper / "var", stat.S_IFCHR, os.makedev(0, 0))  # the container removed /var
    with pytest.raises(EngineError) as gone:
        put_archive(upper, lowers, "/var", tar_of(("x", b"1", 0o644)))
    assert gone.value.status == 404
    put_archive(upper, lowers, "/", tar_of(("var/new", b"n", 0o644)))
    assert (upper / "var" / "new").read_text() == "n"
    assert os.getxattr(upper / "var", OPAQUE_XATTR) == b"y"  # the image's /var/run stays hidden
    assert MergedView(upper, lowers).lookup(["var", "run"]) is None


def test_errors(layers: tuple[Path, list[Path]], tmp_path: Path) -> None:
    upper, lowers = layers
    for path, status in (("/nope", 404), ("/data", 400), ("/etc/old", 404)):
        with pytest.raises(EngineError) as failed:
            put_archive(upper, lowers, path, tar_of(("x", b"1", 0o644)))
        assert failed.value.status == status, path
    with pytest.raises(EngineError) as unsafe:
        put_archive(upper, lowers, "/", tar_of(("../escape", b"1", 0o644)))
    assert unsafe.value.status == 400 and not (tmp_path / "escape").exists()
    with pytest.raises(EngineError) as strict:
        put_archive(upper, lowers, "/", tar_of(("etc", b"not a dir", 0o644)), no_overwrite_dir_non_dir=True)
    assert strict.value.status == 400
    with pytest.raises(EngineError) as garbage:
        put_archive(upper, lowers, "/", io.BytesIO(b"not a tar at all" * 64))
    assert garbage.value.status == 400


def test_a_symlink_planted_in_the_upper_dir_never_leads_outside(layers: tuple[Path, list[Path]],
                                                                 tmp_path: Path) -> None:
    upper, lowers = layers
    outside = tmp_path / "outside"
    outside.mkdir()
    (upper / "evil").symlink_to(outside)  # what a container could make: inside it, /evil -> host path
    put_archive(upper, lowers, "/", tar_of(("evil/x", b"1", 0o644)))
    assert list(outside.iterdir()) == []
    assert (upper / os.path.relpath(outside, "/") / "x").read_text() == "1"  # resolved inside the root


def test_stat_path(layers: tuple[Path, list[Path]]) -> None:
    upper, lowers = layers
    tmp = stat_path(upper, lowers, "/tmp")
    assert tmp["name"] == "tmp" and tmp["mode"] == (1 << 31) | (1 << 20) | 0o777
    link = stat_path(upper, lowers, "/run")
    assert link["mode"] == (1 << 27) | 0o777 and link["linkTarget"] == "/var/run"
    assert stat_path(upper, lowers, "/data")["size"] == 4
    with pytest.raises(EngineError):
        stat_path(upper, lowers, "/etc/old")
