"""globs.match is Go's filepath.Match: Go's own table of cases, and the --exclude matcher."""

from __future__ import annotations

import pytest

from runtime.build.globs import Excluder, has_wildcards, match, unescape

BAD = "bad"
# (pattern, name, expected): Go's path/filepath match tests, on Unix.
GO_CASES = [
    ("abc", "abc", True), ("*", "abc", True), ("*c", "abc", True), ("a*", "a", True),
    ("a*", "abc", True), ("a*", "ab/c", False), ("a*/b", "abc/b", True), ("a*/b", "a/c/b", False),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True), ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False), ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False),
    ("a*b?c*x", "abxbbxdbxebxczzx", True), ("a*b?c*x", "abxbbxdbxebxczzy", False),
    ("ab[c]", "abc", True), ("ab[b-d]", "abc", True), ("ab[e-g]", "abc", False),
    ("ab[^c]", "abc", False), ("ab[^b-d]", "abc", False), ("ab[^e-g]", "abc", True),
    ("a\\*b", "a*b", True), ("a\\*b", "ab", False), ("a?b", "a☺b", True), ("a[^a]b", "a☺b", True),
    ("a???b", "a☺b", False), ("a[^a][^a][^a]b", "a☺b", False), ("[a-ζ]*", "α", True),
    ("*[a-ζ]", "A", False), ("a?b", "a/b", False), ("a*b", "a/b", False),
    ("[\\]a]", "]", True), ("[\\-]", "-", True), ("[x\\-]", "x", True), ("[x\\-]", "-", True),
    ("[x\\-]", "z", False), ("[\\-x]", "x", True), ("[\\-x]", "-", True), ("[\\-x]", "a", False),
    ("[]a]", "]", BAD), ("[-]", "-", BAD), ("[x-]", "x", BAD), ("[x-]", "-", BAD), ("[x-]", "z", BAD),
    ("[-x]", "x", BAD), ("[-x]", "-", BAD), ("[-x]", "a", BAD), ("\\", "a", BAD), ("[a-b-c]", "a", BAD),
    ("[", "a", BAD), ("[^", "a", BAD), ("[^bc", "a", BAD), ("a[", "a", BAD), ("a[", "ab", BAD),
    ("a[", "x", BAD), ("a/b[", "x", BAD), ("*x", "xxx", True),
]


@pytest.mark.parametrize(("pattern", "name", "expected"), GO_CASES)
def test_go_filepath_match(pattern: str, name: str, expected: object) -> None:
    if expected == BAD:
        with pytest.raises(ValueError, match="syntax error in pattern"):
            match(pattern, name)
    else:
        assert match(pattern, name) is expected


def test_wildcards_and_escapes() -> None:
    assert has_wildcards("hom*") and has_wildcards("a?") and has_wildcards("arr[[]0].txt")
    assert not has_wildcards("plain/name.txt") and not has_wildcards("a\\*b")
    assert unescape("a\\*b") == "a*b"
    assert match("arr[[]0].txt", "arr[0].txt")  # the Dockerfile reference's example


def test_excluder_rules() -> None:
    ex = Excluder(["*.txt", "**/*.md", "build", "!build/keep"])
    assert ex.excluded("a.txt") and not ex.excluded("sub/a.txt")
    assert ex.excluded("README.md") and ex.excluded("docs/deep/x.md")
    assert ex.excluded("build") and ex.excluded("build/out.o")  # a directory takes its contents
    assert not ex.excluded("build/keep") and not ex.excluded("src/main.c")
    assert not Excluder([]) and Excluder(["x"])
    with pytest.raises(ValueError, match="syntax error in pattern"):
        Excluder(["a["])
    with pytest.raises(ValueError, match="illegal exclusion pattern"):
        Excluder(["!"])
