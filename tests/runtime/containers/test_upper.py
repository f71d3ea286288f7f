"""upper.py on directories made here: dockerd's change kinds, whiteouts as OCI entries, nothing followed."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from runtime.containers.upper import ADDED, DELETED, MODIFIED, OPAQUE_XATTR, changes, write_layer

CAP = bytes.fromhex("0100000200200000000000000000000000000000")  # cap_net_bind_service+ep
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="whiteouts and trusted xattrs need root")


@pytest.fixture
def layers(tmp_path: Path) -> tuple[Path, Path]:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    for d in ("etc", "bin", "old", "var/log"):
        (lower / d).mkdir(parents=True)
    (lower / "etc" / "passwd").write_text("root\n")
    (lower / "bin" / "ls").write_text("ls\n")
    (lower / "old" / "gone").write_text("x")
    (upper / "etc").mkdir(parents=True)
    os.chmod(upper / "etc", stat.S_IMODE(os.stat(lower / "etc").st_mode))
    (upper / "etc" / "passwd").write_text("changed\n")
    os.setxattr(upper / "etc" / "passwd", "security.capability", CAP)
    os.setxattr(upper / "etc" / "passwd", "trusted.ours", b"x")
    (upper / "bin").mkdir()
    os.mknod(upper / "bin" / "ls", stat.S_IFCHR | 0o000, os.makedev(0, 0))  # overlay's whiteout
    (upper / "old").mkdir()
    os.setxattr(upper / "old", OPAQUE_XATTR, b"y")
    (upper / "old" / "new").write_text("n")
    (upper / "var" / "log").mkdir(parents=True)
    (upper / "var" / "log" / "a.log").write_text("log")
    os.link(upper / "var" / "log" / "a.log", upper / "var" / "log" / "b.log")
    os.symlink("/", upper / "escape")  # planted: must be read as a link, never walked
    (upper / "etc" / "hosts").write_text("")  # a mount point the engine made
    return upper, lower


def test_changes_as_dockerd(layers: tuple[Path, Path]) -> None:
    upper, lower = layers
    found = [(c["Path"], c["Kind"]) for c in changes(upper, [lower], skip={"/etc/hosts"})]
    # /etc and /var keep the image's owner and mode: only the direct parent of an addition is a change./
    assert found == [("/bin", MODIFIED), ("/bin/ls", DELETED), ("/escape", ADDED), ("/etc/passwd", MODIFIED),
                     ("/old", MODIFIED), ("/old/new", ADDED), ("/var/log", MODIFIED),
                     ("/var/log/a.log", ADDED), ("/var/log/b.log", ADDED)]


def test_layer_has_oci_whiteouts_hardlinks_and_no_followed_link(layers: tuple[Path, Path]) -> None:
    upper, _lower = layers
    out = io.BytesIO()
    assert write_layer(upper, out, skip={"/etc/hosts"}) > 0
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert members["bin/.wh.ls"].isreg() and members["bin/.wh.ls"].size == 0
        assert members["old/.wh..wh..opq"].isreg()
        assert members["escape"].issym() and members["escape"].linkname == "/"
        assert members["var/log/b.log"].islnk() and members["var/log/b.log"].linkname == "var/log/a.log"
        assert "etc/hosts" not in members and "bin/ls" not in members
        assert not any(name.startswith("escape/") for name in members)
        passwd = tar.extractfile("etc/passwd")
        assert passwd is not None and passwd.read() == b"changed\n"
        xattrs = {k: v for k, v in members["etc/passwd"].pax_headers.items() if k.startswith("SCHILY.xattr.")}
        assert xattrs == {"SCHILY.xattr.security.capability": CAP.decode("utf-8", "surrogateescape")}
