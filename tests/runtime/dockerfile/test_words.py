"""words: buildkit's shell lexer (quotes, escapes, every substitution form) and the raw split."""

from __future__ import annotations

import pytest

from runtime.dockerfile.errors import WordError
from runtime.dockerfile.words import Lexer, expand, expand_heredoc, expand_words, split_words

ENV = {"A": "1", "EMPTY": "", "PATH": "/usr/local/bin:/usr/bin", "SP": "a  b", "FILE": "dir/name.tar.gz"}


@pytest.mark.parametrize(("word", "value"), [
    ("plain", "plain"), ("$A", "1"), ("${A}", "1"), ("x$A.y", "x1.y"), ("$UNSET", ""), ("${UNSET}", ""),
    ("${A:-d}", "1"), ("${EMPTY:-d}", "d"), ("${UNSET:-d}", "d"), ("${EMPTY-d}", ""), ("${UNSET-d}", "d"),
    ("${A:+w}", "w"), ("${EMPTY:+w}", ""), ("${EMPTY+w}", "w"), ("${UNSET+w}", ""), ("${A:?no}", "1"),
    ("${UNSET:-$A}", "1"), ("${UNSET:-${A:+x}y}", "xy"), ("${UNSET:-a b}", "a b"),
    ("${FILE%.*}", "dir/name.tar"), ("${FILE%%.*}", "dir/name"), ("${FILE#*/}", "name.tar.gz"),
    ("${FILE##*.}", "gz"), ("${PATH/bin/sbin}", "/usr/local/sbin:/usr/bin"),
    ("${PATH//bin/sbin}", "/usr/local/sbin:/usr/sbin"), ("${FILE/#dir/x}", "dir/name.tar.gz"),
    ("'$A'", "$A"), ('"$A"', "1"), ('"\\$A"', "$A"), ("\\$A", "$A"), ('"a\\"b"', 'a"b'), ('"a\\b"', "a\\b"),
    ("a\\ b", "a b"), ("it's'", "its"), ('"it\'s"', "it's"), ("$", "$"), ("a$", "a$"), ("$1x", "x"),
    ("${A}b'c d'", "1bc d"), ("\\", ""), ('""', ""), ("<<EOF", "<<EOF"), ("a<b", "a<b"),
])  # fmt: skip
def test_expand(word: str, value: str) -> None:
    assert expand(word, ENV) == value


def test_backtick_escape() -> None:
    assert expand("c:\\dir`$A `$`", ENV, "`") == "c:\\dir$A $"
    assert expand('"`"x"', ENV, "`") == '"x'


@pytest.mark.parametrize(("word", "message"), [
    ("${A", "syntax error: missing '}'"), ("${", "syntax error: missing '}'"), ("${}", "bad substitution"),
    ("${:-x}", "bad substitution"), ("${A:-x", "syntax error: missing '}'"), ("'open", "matching single-quote"),
    ('"open', "matching double-quote"), ("${A!x}", r"unsupported modifier \(!\) in substitution"),
    ("${A:#x}", r"unsupported modifier \(:#\) in substitution"),
    ("${A:x}", r"unsupported modifier \(:x\) in substitution"), ("${UNSET:?must be set}", "UNSET: must be set"),
    ("${UNSET?}", "UNSET: is not allowed to be unset"), ("${EMPTY:?}", "EMPTY: is not allowed to be empty"),
    ("${A/x", "missing '/' in"),
])  # fmt: skip
def test_expand_errors(word: str, message: str) -> None:
    with pytest.raises(WordError, match=message) as caught:
        expand(word, ENV)
    assert str(caught.value).startswith("failed to process ")


def test_expand_words_splits_after_substitution() -> None:
    assert expand_words("a 'b c' $SP \"$SP\" d\\ e", ENV) == ["a", "b c", "a", "b", "a  b", "d e"]
    assert expand_words("  ", ENV) == [] and expand_words('a "" b', ENV) == ["a", "b"]


def test_split_words_keeps_quotes_and_escapes() -> None:
    assert split_words("a=1 b=\"x y\" 'c d'=2 e\\ f") == ["a=1", 'b="x y"', "'c d'=2", "e\\ f"]
    assert split_words("x='it''s' \"a\\\"b\"") == ["x='it''s'", '"a\\"b"']
    assert split_words("a\\") == ["a"] and split_words("") == []
    assert split_words("a` b", "`") == ["a` b"]


def test_skip_unset_keeps_references() -> None:
    lexer = Lexer(skip_unset=True)
    assert lexer.process("$X ${Y} ${Z:-d} $A", {"A": "1"})[0] == "$X ${Y} ${Z:-d} 1"


def test_heredoc_bodies_keep_quotes() -> None:
    body = 'echo "$A" \'$A\' ${UNSET:-d}\nline two \\$A\n'
    assert expand_heredoc(body, ENV) == 'echo "1" \'1\' d\nline two $A\n'
