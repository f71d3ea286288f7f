""".dockerignore as moby/patternmatcher reads and matches it, pure."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.build.ignore import Matcher, ignore_file, read_patterns
from compose.errors import ComposeError


def test_reading_comments_trimming_and_cleaning() -> None:
    text = "\ufeff# a comment\n\n  *.log  \n #not-a-comment\n/abs/path\ndir/\n./a/../b\n! keep.log\n"
    assert read_patterns(text) == ["*.log", "#not-a-comment", "abs/path", "dir", "b", "!keep.log"]


@pytest.mark.parametrize(("patterns", "path", "excluded"), [
    (["**"], "a/b/c", True),
    (["**/"], "a", True),
    (["dir/**"], "dir/a/b", True),
    (["dir/**"], "other/a", False),
    (["**/file"], "file", True),
    (["**/file"], "a/b/file", True),
    (["**/file"], "a/b/file2", False),
    (["*.go"], "a.go", True),
    (["*.go"], "dir/a.go", False),
    (["**/*.go"], "dir/sub/a.go", True),
    (["a?c"], "abc", True),
    (["a?c"], "a/c", False),
    (["[a-c]x"], "bx", True),
    (["[a-c]x"], "dx", False),
    (["[!a-c]x"], "dx", True),
    (["\\*"], "*", True),
    (["\\*"], "a", False),
    (["dir"], "dir/deep/file", True),  # a parent folder matches
    (["a.b"], "axb", False),  # a dot is a dot
    (["docs", "!docs/README.md"], "docs/README.md", False),
    (["docs", "!docs/README.md"], "docs/other.md", True),
    (["*.md", "!README*.md", "README-secret.md"], "README.md", False),  # the docs' example: last match wins
    (["*.md", "!README*.md", "README-secret.md"], "README-secret.md", True),
    (["*.md", "!README*.md", "README-secret.md"], "notes.md", True),
    (["a", "."], "b", False),
])
def test_matching(patterns: list[str], path: str, excluded: bool) -> None:
    assert Matcher(patterns).excluded(path) is excluded


def test_a_lone_exclamation_mark_is_an_error() -> None:
    with pytest.raises(ComposeError, match='illegal exclusion pattern: "!"'):
        Matcher(["!"])


def test_excluded_folders_are_entered_only_for_an_exception_under_them() -> None:
    matcher = Matcher(["docs", "!docs/keep", "build", "!**/keep"])
    assert matcher.may_hold_exception("docs")
    assert not matcher.may_hold_exception("build")  # the CLI's prefix rule: a wildcard does not reopen it


def test_the_dockerfile_own_ignore_file_wins(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("a\n")
    dockerfile = tmp_path / "sub" / "app.Dockerfile"
    dockerfile.parent.mkdir()
    dockerfile.write_text("FROM busybox\n")
    assert ignore_file(tmp_path, dockerfile) == tmp_path / ".dockerignore"
    (tmp_path / "sub" / "app.Dockerfile.dockerignore").write_text("b\n")
    assert ignore_file(tmp_path, dockerfile) == tmp_path / "sub" / "app.Dockerfile.dockerignore"
    assert ignore_file(tmp_path / "sub", None) is None
