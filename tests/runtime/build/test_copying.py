"""COPY/ADD sources on real files: selection, the cache digest, the tar and what it extracts to."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from runtime.build.copying import CopyError, check_dest, digest, heredoc_source, resolve_dest, select, write_tar
from runtime.images.layers import apply_layer


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    root = tmp_path / "ctx"
    (root / "src" / "sub").mkdir(parents=True)
    (root / "src" / "a.txt").write_text("a\n")
    (root / "src" / "sub" / "b.md").write_text("b\n")
    (root / "home.txt").write_text("home\n")
    (root / "homer.py").write_text("print(1)\n")
    (root / "other").write_text("o\n")
    os.symlink("src/a.txt", root / "link")
    os.symlink("/etc/passwd", root / "escape")
    os.symlink("a.txt", root / "src" / "inner")
    return root


def names(selection) -> list[tuple[str, list[str]]]:
    return [(s.name, [e.rel for e in s.entries]) for s in selection.sources]


def extract(selection, dest: str, tmp_path: Path, **kw) -> Path:
    buf = io.BytesIO()
    write_tar(selection, dest, buf, dest_is_dir=kw.pop("dest_is_dir", False), **kw)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    buf.seek(0)
    apply_layer(buf, out)
    return out


def test_single_file_glob_and_directory_contents(ctx: Path) -> None:
    assert names(select(ctx, ["home.txt"])) == [("home.txt", ["home.txt"])]
    assert names(select(ctx, ["hom*"])) == [("home.txt", ["home.txt"]), ("homer.py", ["homer.py"])]
    assert names(select(ctx, ["src"])) == [("src", ["a.txt", "inner", "sub", "sub/b.md"])]
    assert names(select(ctx, ["s?c/*.txt"])) == [("src/a.txt", ["a.txt"])]
    whole = select(ctx, ["."])
    assert whole.sources[0].is_dir and "src/sub/b.md" in [e.rel for e in whole.sources[0].entries]


def test_paths_are_clamped_inside_the_root(ctx: Path) -> None:
    assert names(select(ctx, ["../../home.txt"])) == [("home.txt", ["home.txt"])]
    assert names(select(ctx, ["/src/../other"])) == [("other", ["other"])]


def test_symlinks(ctx: Path) -> None:
    linked = select(ctx, ["link"])  # a named symlink is followed, the name kept
    entry = linked.sources[0].entries[0]
    assert (entry.rel, entry.kind, entry.size) == ("link", "file", 2)
    inner = {e.rel: e for e in select(ctx, ["src"]).sources[0].entries}["inner"]
    assert (inner.kind, inner.linkname) == ("symlink", "a.txt")  # below a source: kept as a link
    with pytest.raises(CopyError) as err:  # /etc/passwd is looked up inside the root
        select(ctx, ["escape"])
    assert str(err.value) == ("COPY failed: file not found in build context or excluded by .dockerignore: "
                              "stat escape: file does not exist")


def test_errors(ctx: Path) -> None:
    with pytest.raises(CopyError, match=r"^COPY failed: no source files were specified$"):
        select(ctx, ["nothing*"])
    with pytest.raises(CopyError, match=r"^COPY failed: no source files were specified$"):
        select(ctx, [])
    with pytest.raises(CopyError, match=r"^ADD failed: stat missing: file does not exist$"):
        select(ctx, ["missing"], what="ADD", context=False)
    with pytest.raises(CopyError, match="syntax error in pattern"):
        select(ctx, ["a["])


def test_exclude_and_parents(ctx: Path) -> None:
    assert names(select(ctx, ["hom*"], excludes=["*.txt"])) == [("homer.py", ["homer.py"])]
    assert names(select(ctx, ["src"], excludes=["**/*.md"])) == [("src", ["a.txt", "inner", "sub"])]
    # patterns are relative to each source: a directory's own paths, a file's name
    assert names(select(ctx, ["src"], excludes=["sub/*.md"])) == [("src", ["a.txt", "inner", "sub"])]
    assert names(select(ctx, ["src"], excludes=["*.md"])) == [("src", ["a.txt", "inner", "sub", "sub/b.md"])]
    assert names(select(ctx, ["s*"], excludes=["a.txt", "inner"])) == [("src", ["sub", "sub/b.md"])]
    assert names(select(ctx, ["src/a.txt", "home.txt"], excludes=["a.*"])) == [("home.txt", ["home.txt"])]
    both = select(ctx, ["src/a.txt", "src/sub/b.md"], parents=True)
    assert names(both) == [("src/a.txt", ["src/a.txt"]), ("src/sub/b.md", ["src/sub/b.md"])]
    pivot = select(ctx, ["./src/./sub/*.md"], parents=True)
    assert names(pivot) == [("src/sub/b.md", ["sub/b.md"])]


def test_digest_ignores_mtime_not_content_or_mode(ctx: Path) -> None:
    first = digest(select(ctx, ["src"]))
    assert first.startswith("dir:")
    os.utime(ctx / "src" / "a.txt", (1, 1))
    assert digest(select(ctx, ["src"])) == first
    (ctx / "src" / "a.txt").write_text("A\n")
    changed = digest(select(ctx, ["src"]))
    assert changed != first
    os.chmod(ctx / "src" / "a.txt", 0o600)
    assert digest(select(ctx, ["src"])) != changed
    assert digest(select(ctx, ["other"])).startswith("file:")
    assert digest(select(ctx, ["other", "src"])).startswith("multi:")
    os.setxattr(ctx / "other", "user.note", b"x")
    assert digest(select(ctx, ["other"])) != digest(select(ctx, ["homer.py"]))


def test_a_source_gone_before_reading_is_a_copy_error(ctx: Path) -> None:
    selection = select(ctx, ["other"])
    (ctx / "other").unlink()
    with pytest.raises(CopyError, match="failed to compute cache key: other: No such file or directory"):
        digest(selection)
    with pytest.raises(CopyError, match="failed to copy other: No such file or directory"):
        write_tar(selection, "/o", io.BytesIO(), dest_is_dir=False)


def test_destination_rules(ctx: Path, tmp_path: Path) -> None:
    out = extract(select(ctx, ["home.txt"]), "/app/renamed", tmp_path)
    assert (out / "app" / "renamed").read_text() == "home\n"
    out = extract(select(ctx, ["home.txt"]), "/app2/", tmp_path)
    assert (out / "app2" / "home.txt").is_file()
    out = extract(select(ctx, ["home.txt"]), "/app3", tmp_path, dest_is_dir=True)
    assert (out / "app3" / "home.txt").is_file()
    out = extract(select(ctx, ["src"]), "/code", tmp_path)
    assert (out / "code" / "sub" / "b.md").read_text() == "b\n"
    assert os.readlink(out / "code" / "inner") == "a.txt"
    assert not (out / "code" / "src").exists()  # the directory itself is not copied
    with pytest.raises(CopyError, match=r"^When using COPY with more than one source file, the destination"):
        check_dest(select(ctx, ["hom*"]), "/dir")
    with pytest.raises(CopyError, match="destination must be a directory and end with a /"):
        write_tar(select(ctx, ["home.txt", "other"]), "/dir", io.BytesIO(), dest_is_dir=True)


def test_chown_chmod_and_created_parents(ctx: Path, tmp_path: Path) -> None:
    os.chmod(ctx / "src" / "a.txt", 0o644)
    buf = io.BytesIO()
    write_tar(select(ctx, ["src"]), "/opt/app/", buf, dest_is_dir=False, uid=1000, gid=1001, chmod="u+x,go-r",
              exists=lambda p: p == "/opt" or p == "/")
    buf.seek(0)
    with tarfile.open(fileobj=buf) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert "opt" not in members  # exists: left alone
    assert (members["opt/app"].mode, members["opt/app"].uid, members["opt/app"].gid) == (0o755, 1000, 1001)
    assert members["opt/app/a.txt"].mode == 0o700 and members["opt/app/a.txt"].uid == 1000
    assert members["opt/app/sub"].mode == 0o711
    buf = io.BytesIO()
    write_tar(select(ctx, ["other"]), "/o", buf, dest_is_dir=False, chmod="0600")
    buf.seek(0)
    with tarfile.open(fileobj=buf) as tar:
        assert [(m.name, m.mode) for m in tar.getmembers()] == [("o", 0o600)]
    with pytest.raises(CopyError, match="invalid chmod parameter"):
        write_tar(select(ctx, ["other"]), "/o", io.BytesIO(), dest_is_dir=False, chmod="u+q")


def test_heredoc_source(tmp_path: Path) -> None:
    from runtime.build.copying import Selection

    selection = Selection((heredoc_source("EOF", b"hello\n"),))
    assert digest(selection).startswith("file:")
    out = extract(selection, "/etc/greeting", tmp_path)
    assert (out / "etc" / "greeting").read_text() == "hello\n"
    out = extract(selection, "/d/", tmp_path)
    assert (out / "d" / "EOF").stat().st_mode & 0o777 == 0o644


def test_resolve_dest() -> None:
    assert resolve_dest("rel/", "/work") == "/work/rel/"
    assert resolve_dest("file", "/work") == "/work/file"
    assert resolve_dest(".", "/work") == "/work/"
    assert resolve_dest("/abs", "/work") == "/abs"
    assert resolve_dest("x", "") == "/x"
