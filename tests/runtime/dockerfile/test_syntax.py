"""The line splitting under the instructions: command, flags, JSON, words, heredoc words."""

from __future__ import annotations

import pytest

from runtime.dockerfile.syntax import NotStrings, extract_flags, parse_heredoc, parse_json, split_command


@pytest.mark.parametrize(("line", "expected"), [
    ("RUN echo hi", ("RUN", [], "echo hi")),
    ("  copy   --from=a   --chown='u g'  src  dst ", ("copy", ["--from=a", "--chown=u g"], "src  dst")),
    ("COPY --link -- --src dst", ("COPY", ["--link"], "--src dst")),
    ('RUN --mount=type=secret,id="a b" --network=none make', ("RUN", ["--mount=type=secret,id=a b", "--network=none"],
                                                              "make")),
    ("RUN --x=\\\"q --y", ("RUN", ['--x="q', "--y"], "")),
    ("RUN -x", ("RUN", [], "-x")),
    ("RUN --x=''", ("RUN", ["--x="], "")),
    ("CMD", ("CMD", [], "")),
])  # fmt: skip
def test_split_command(line: str, expected: tuple[str, list[str], str]) -> None:
    assert split_command(line, "\\") == expected


def test_flags_with_the_backtick_escape() -> None:
    assert extract_flags("--a=x`y b", "`") == ("b", ["--a=xy"])


def test_parse_json() -> None:
    assert parse_json(' ["a", "b c"]') == ["a", "b c"]
    assert parse_json("[]") == []
    for text in ("a", "[a]", "['a']", '["a",]', '["a"] x', "[NaN]", '{"a": 1}'):
        assert parse_json(text) is None
    with pytest.raises(NotStrings):
        parse_json('["a", ["b"]]')


@pytest.mark.parametrize(("word", "name", "expand", "chomp"), [
    ("<<EOF", "EOF", True, False), ("<<-EOF", "EOF", True, True), ('<<"EOF"', "EOF", False, False),
    ("<<'E O F'", "E O F", False, False), ("2<<EOF", "EOF", True, False), ("<< EOF", "EOF", True, False),
])  # fmt: skip
def test_heredoc_words(word: str, name: str, expand: bool, chomp: bool) -> None:
    heredoc = parse_heredoc(word)
    assert heredoc is not None and (heredoc.name, heredoc.expand, heredoc.chomp) == (name, expand, chomp)


@pytest.mark.parametrize("word", ["<<", "<<<EOF", "a<<EOF", "<<a b", "EOF"])
def test_not_heredoc_words(word: str) -> None:
    assert parse_heredoc(word) is None
