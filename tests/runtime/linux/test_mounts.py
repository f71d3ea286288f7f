"""Rootfs preparation pieces; whole births are covered in tests/runtime/containers/supervisor/test_birth.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime.linux import mounts
from runtime.linux import syscalls as sc
from runtime.spec import Mount, Rootfs
from tests.runtime.linux.forkrun import run_forked


def test_parse_options_splits_flags_propagation_and_data() -> None:
    opts = mounts.parse_options(("nosuid", "noexec", "ro", "mode=755", "size=65536k", "rprivate", "tmpcopyup"))
    assert opts.flags == sc.MS_NOSUID | sc.MS_NOEXEC | sc.MS_RDONLY
    assert opts.propagation == sc.MS_PRIVATE | sc.MS_REC
    assert opts.data == "mode=755,size=65536k"
    assert opts.copy_up


def test_parse_options_later_option_wins() -> None:
    opts = mounts.parse_options(("ro", "rw", "rbind"))
    assert opts.flags == sc.MS_BIND | sc.MS_REC
    assert opts.clear == sc.MS_RDONLY


def test_resolve_in_root_follows_links_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "real" / "dir").mkdir(parents=True)
    (root / "abs").symlink_to("/real")  # absolute: relative to the container's root, not the host's
    (root / "rel").symlink_to("real/dir")
    (root / "escape").symlink_to("../../../../etc")
    assert mounts.resolve_in_root(str(root), "/abs/dir") == str(root / "real" / "dir")
    assert mounts.resolve_in_root(str(root), "rel/new/x") == str(root / "real" / "dir" / "new" / "x")
    assert mounts.resolve_in_root(str(root), "/escape/passwd") == str(root / "etc" / "passwd")
    assert mounts.resolve_in_root(str(root), "/../../x") == str(root / "x")
    assert mounts.resolve_in_root(str(root), "/missing/../real") == str(root / "real")


def test_resolve_in_root_stops_link_loops(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(OSError, match="too many symlinks"):
        mounts.resolve_in_root(str(tmp_path), "/a")


def test_ensure_target_makes_dirs_and_files(tmp_path: Path) -> None:
    mounts.ensure_target(str(tmp_path / "d" / "e"), "dir")
    mounts.ensure_target(str(tmp_path / "f" / "file"), "file")
    assert (tmp_path / "d" / "e").is_dir()
    assert (tmp_path / "f" / "file").is_file()


def test_prepare_host_dirs_gives_a_layerless_image_one_empty_lower(tmp_path: Path) -> None:
    rootfs = Rootfs((), str(tmp_path / "upper"), str(tmp_path / "work"), str(tmp_path / "rootfs"))
    out = mounts.prepare_host_dirs(rootfs, str(tmp_path))
    assert out.lowerdirs == (str(tmp_path / "empty-lower"),)
    assert all(Path(p).is_dir() for p in (out.upperdir, out.workdir, out.mountpoint, out.lowerdirs[0]))


def test_copy_tree_keeps_modes_owners_and_links(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f").write_text("data")
    os.chmod(src / "sub" / "f", 0o640)
    (src / "link").symlink_to("sub/f")
    dst.mkdir()
    mounts.copy_tree(str(src), str(dst))
    assert (dst / "sub" / "f").read_text() == "data"
    assert (dst / "sub" / "f").stat().st_mode & 0o777 == 0o640
    assert os.readlink(dst / "link") == "sub/f"


def test_host_cgroup_mounts_lists_this_machines_hierarchies() -> None:
    found = mounts.host_cgroup_mounts()
    assert found, "no cgroup hierarchy under /sys/fs/cgroup"
    for name, fstype, options in found:
        assert fstype in ("cgroup", "cgroup2")
        assert name and "/" not in name
        if fstype == "cgroup2":
            assert options == ""


def test_unescape_mountinfo_fields() -> None:
    assert mounts._unescape(r"/a\040b\011c") == "/a b\tc"


@pytest.mark.root
def test_mounts_tmpfs_and_bind_and_unmount_tree_in_a_private_namespace(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    source = tmp_path / "src"
    source.mkdir()
    (source / "hello").write_text("hi")

    def fn() -> dict[str, object]:
        sc.unshare(sc.CLONE_NEWNS)
        mounts.make_rprivate()
        mounts.apply_mounts(str(root), (
            Mount("/tmp", "tmpfs", "tmpfs", ("nosuid", "size=1m")),
            Mount("/data", "bind", str(source), ("rbind", "ro"), "rprivate"),
            Mount("/etc/hostname", "bind", str(source / "hello"), ("bind",)),
        ))
        out: dict[str, object] = {
            "data": (root / "data" / "hello").read_text(),
            "hostname_file": (root / "etc" / "hostname").read_text(),
            "data_ro": bool(os.statvfs(root / "data").f_flag & os.ST_RDONLY),
            "tmp_nosuid": bool(os.statvfs(root / "tmp").f_flag & os.ST_NOSUID),
        }
        try:
            (root / "data" / "x").write_text("no")
            out["write"] = "allowed"
        except OSError as exc:
            out["write"] = exc.strerror
        out["unmounted"] = sorted(mounts.unmount_tree(str(root)))
        out["left"] = [p for p in mounts.mount_points() if p.startswith(str(root))]
        return out

    out = run_forked(fn)
    assert out["data"] == "hi" and out["hostname_file"] == "hi"
    assert out["data_ro"] is True and out["tmp_nosuid"] is True
    assert out["write"] == "Read-only file system"
    assert out["unmounted"] == sorted([str(root / "tmp"), str(root / "data"), str(root / "etc" / "hostname")])
    assert out["left"] == []
    assert not (source / "x").exists()


@pytest.mark.root
def test_make_device_creates_a_character_node(tmp_path: Path) -> None:
    def fn() -> list[int]:
        mounts.make_device(str(tmp_path / "dev" / "null"), 1, 3, "/dev/null")
        st = os.stat(tmp_path / "dev" / "null")
        return [os.major(st.st_rdev), os.minor(st.st_rdev), st.st_mode & 0o777]

    assert run_forked(fn) == [1, 3, 0o666]
