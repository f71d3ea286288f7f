"""--chown values resolved through a root's /etc/passwd and /etc/group (real files)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime.build.owners import OwnerError, resolve, rootfs_lookup


@pytest.fixture
def root(tmp_path: Path) -> Path:
    etc = tmp_path / "rootfs" / "real-etc"
    etc.mkdir(parents=True)
    (etc / "passwd").write_text("# users\nroot:x:0:0:root:/root:/bin/sh\napp:x:1000:1500::/home/app:/bin/sh\n"
                                "bin:x:2:2:bin:/bin:/bin/false\n")
    (etc / "group").write_text("root:x:0:\nstaff:x:50:app\napp:x:1500:\n")
    os.symlink("/real-etc", tmp_path / "rootfs" / "etc")  # absolute: resolved inside the root
    return tmp_path / "rootfs"


def test_names_and_numbers(root: Path) -> None:
    look = rootfs_lookup(root)
    assert resolve("app", look) == (1000, 1500)  # a user alone: its primary group
    assert resolve("app:staff", look) == (1000, 50)
    assert resolve("1234", look) == (1234, 1234)  # a number alone: the same number as gid
    assert resolve("1234:56", look) == (1234, 56)
    assert resolve("bin:root", look) == (2, 0)
    assert resolve("7:staff", look) == (7, 50)


def test_missing_names(root: Path, tmp_path: Path) -> None:
    look = rootfs_lookup(root)
    with pytest.raises(OwnerError, match=r"^unable to find user nobody: no matching entries in passwd file$"):
        resolve("nobody", look)
    with pytest.raises(OwnerError, match=r"^unable to find group wheel: no matching entries in group file$"):
        resolve("app:wheel", look)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(OwnerError, match="unable to find user app"):
        resolve("app", rootfs_lookup(empty))  # no /etc/passwd at all
    assert resolve("0:0", rootfs_lookup(empty)) == (0, 0)
    with pytest.raises(OwnerError, match="invalid chown string format"):
        resolve("a:b:c", look)
