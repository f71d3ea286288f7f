"""runtime.build.sums: a kept context tree's hashes carry over only to the files a new tree links."""

from __future__ import annotations

import os
from pathlib import Path

from runtime.build import sums


def test_hashes_follow_links_not_names(tmp_path: Path) -> None:
    previous, fresh = tmp_path / "a" / "tree", tmp_path / "b" / "tree"
    (previous / "d").mkdir(parents=True)
    (fresh / "d").mkdir(parents=True)
    (previous / "d" / "linked").write_text("same")
    (previous / "rewritten").write_text("old!")
    st = os.stat(previous / "rewritten")
    sums.publish(previous)
    try:
        sums.remember(previous / "d" / "linked", b"h1")
        sums.remember(previous / "rewritten", b"h2")
        assert sums.lookup(previous / "d" / "linked") == b"h1"
        os.link(previous / "d" / "linked", fresh / "d" / "linked")
        (fresh / "rewritten").write_text("new!")  # same size, same mtime: another file
        os.utime(fresh / "rewritten", ns=(st.st_atime_ns, st.st_mtime_ns))
        inherited = sums.inherit(previous, fresh)
        assert inherited == {"d/linked": b"h1"}
        sums.publish(fresh, inherited)
        assert sums.lookup(fresh / "d" / "linked") == b"h1"
        assert sums.lookup(fresh / "rewritten") is None
        assert sums.lookup(tmp_path / "elsewhere") is None
        sums.remember(tmp_path / "elsewhere", b"x")  # not a kept tree: not remembered
        assert sums.lookup(tmp_path / "elsewhere") is None
    finally:
        sums.forget(previous)
        sums.forget(fresh)
    assert sums.lookup(previous / "d" / "linked") is None
