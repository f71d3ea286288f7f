"""The builder's look-ups in an image's layers never follow a link on the host."""

from __future__ import annotations

import os
from pathlib import Path

from runtime.build import rootfs


def test_a_linked_directory_in_a_layer_is_resolved_inside_the_root(tmp_path: Path) -> None:
    host = tmp_path / "host-etc"
    host.mkdir()
    (host / "passwd").write_text("host:x:0:0::/:/bin/sh\n")
    lower, upper = tmp_path / "l0", tmp_path / "l1"
    (lower / "etc").mkdir(parents=True)
    (lower / "etc" / "passwd").write_text("image:x:0:0::/:/bin/sh\n")
    upper.mkdir()
    os.symlink(str(host), upper / "etc")  # an absolute link: inside the root, not the host's folder
    layers = [lower, upper]
    assert rootfs.lookup(layers, "/etc/passwd") is None
    assert rootfs.read_file(layers, "/etc/passwd") is None
    assert not rootfs.is_dir(layers, "/etc")
    (upper / "etc").unlink()
    os.symlink("/real", upper / "etc")
    (upper / "real").mkdir()
    (upper / "real" / "passwd").write_text("linked:x:0:0::/:/bin/sh\n")
    assert rootfs.read_file(layers, "/etc/passwd") == b"linked:x:0:0::/:/bin/sh\n"
    assert rootfs.is_dir(layers, "/etc")


def test_a_file_in_an_upper_layer_hides_a_lower_directory(tmp_path: Path) -> None:
    lower, upper = tmp_path / "l0", tmp_path / "l1"
    (lower / "a").mkdir(parents=True)
    (lower / "a" / "b").write_text("old")
    upper.mkdir()
    (upper / "a").write_text("now a file")
    assert rootfs.lookup([lower, upper], "/a/b") is None
    assert rootfs.lookup([lower, upper], "/a") == upper / "a"
