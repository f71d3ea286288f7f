from __future__ import annotations

import logging
import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compose.errors import ComposeFileError, Mark
from compose.loader.dotenv import parse_dotenv, project_environment, read_env_file

NO_ENV: dict[str, str] = {}


def parse(text: str, env: dict[str, str] | None = None) -> dict[str, str]:
    return parse_dotenv(textwrap.dedent(text), ".env", (env or {}).get)


def test_plain_assignments_and_whitespace() -> None:
    assert parse("""\
        OPTION_A=1
        OPTION_B = 2
          OPTION_C= 3
        OPTION_D =4\t
        OPTION_E=
        OPTION_F =
        OPTION_G=a=b
        OPTION_H: yaml style
    """) == {
        "OPTION_A": "1", "OPTION_B": "2", "OPTION_C": "3", "OPTION_D": "4", "OPTION_E": "",
        "OPTION_F": "", "OPTION_G": "a=b", "OPTION_H": "yaml style",
    }


def test_comments_blank_lines_and_export() -> None:
    assert parse("""\
        # a comment

           # an indented comment
        export A=1
        export   B='two'
        exportC=3
        C=x # inline comment
        D=x#not a comment
        E=x\t#tab is not a comment start
    """) == {"A": "1", "B": "two", "exportC": "3", "C": "x", "D": "x#not a comment",
             "E": "x\t#tab is not a comment start"}


def test_key_characters() -> None:
    assert parse("VAR.WITH.DOTS=1\nVAR-DASH=2\na[1]=3\nárvíz-TÜKÖR=4\n_u=5\n") == {
        "VAR.WITH.DOTS": "1", "VAR-DASH": "2", "a[1]": "3", "árvíz-TÜKÖR": "4", "_u": "5",
    }


def test_key_starting_with_digit_is_kept_as_compose_go_does() -> None:
    assert parse("456 = ABC\n") == {"456": "ABC"}


def test_later_assignment_wins() -> None:
    assert parse("A=1\nA=2\n") == {"A": "2"}


def test_single_quotes_are_literal() -> None:
    assert parse("""\
        A='$HOME ${X:?never} \\n'
        B=''
        C='Let\\'s go!'
        D='a # b' # comment
        E = 'spaced'
    """, {"HOME": "/root"}) == {
        "A": "$HOME ${X:?never} \\n", "B": "", "C": "Let's go!", "D": "a # b", "E": "spaced",
    }


def test_double_quotes_escapes_and_expansion() -> None:
    values = parse(r"""
        A="line1\nline2\ttab"
        B="quote \" backslash \\ end"
        C="\$HOME is $HOME"
        D="$$HOME"
        E="\0101\x\q"
        F="" # empty
        G="a # b"
        H="\a\b\f\r\v"
    """, {"HOME": "/root"})
    assert values == {
        "A": "line1\nline2\ttab",
        "B": 'quote " backslash \\ end',
        "C": "$HOME is /root",
        "D": "$HOME",
        "E": "A\\x\\q",
        "F": "",
        "G": "a # b",
        "H": "\a\b\f\r\v",
    }


def test_multiline_quoted_values() -> None:
    assert parse("""\
        A="first
        second $X"
        B='one
        two'
        C=after
    """, {"X": "x"}) == {"A": "first\nsecond x", "B": "one\ntwo", "C": "after"}


def test_bare_key_takes_value_from_environment() -> None:
    assert parse("FROM_OS\nNOT_SET\nexport ALSO\nA=1\n", {"FROM_OS": "os", "ALSO": "also"}) == {
        "FROM_OS": "os", "ALSO": "also", "A": "1",
    }
    assert parse("LAST_LINE_NO_NEWLINE", {"LAST_LINE_NO_NEWLINE": "v"}) == {"LAST_LINE_NO_NEWLINE": "v"}


def test_expansion_uses_earlier_values_and_environment() -> None:
    values = parse("""\
        A=1
        B=${A}
        C=$B-$A
        D=${A}_${B}
        E=${UNDEFINED:-fallback}
        F=${FROM_OS}
        G="${A:+set}"
        H=${LATER:-not yet}
        LATER=now
    """, {"FROM_OS": "os"})
    assert values == {"A": "1", "B": "1", "C": "1-1", "D": "1_1", "E": "fallback", "F": "os",
                      "G": "set", "H": "not yet", "LATER": "now"}


def test_environment_wins_over_earlier_values_in_expansion() -> None:
    assert parse("A=file\nB=$A\n", {"A": "os"}) == {"A": "file", "B": "os"}


def test_unset_variable_in_value_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pycompose"):
        assert parse("\nA=${NOPE}\nB=$NOPE\n") == {"A": "", "B": ""}
    assert [r.getMessage() for r in caplog.records] == [
        '.env:2:3: The "NOPE" variable is not set. Defaulting to a blank string.'
    ]


def test_crlf_and_bom() -> None:
    text = '\ufeffA=1\r\nB="2"\r\nC=3 # c\r\n'
    assert parse_dotenv(text, ".env", NO_ENV.get) == {"A": "1", "B": "2", "C": "3"}


@pytest.mark.parametrize(("text", "mark", "message"), [
    ("A=1\nFOO BAR=x\n", (2, 1), "cannot contain a space"),
    ("A=1\n  B$=x\n", (2, 4), "unexpected character '$' in a variable name"),
    ("%!(EXTRA string)=foo", (1, 1), "unexpected character '%'"),
    ("A=1\nB=\"open\nC=2\n", (2, 3), "unterminated quoted value for B"),
    ("A='open", (1, 3), "unterminated quoted value for A"),
    ("=x\n", (1, 1), "missing variable name"),
    ('A="x" y\n', (1, 7), "unexpected text after the quoted value of A"),
    ("\n\nA=${B:?B is needed}\n", (3, 3), "required variable B is missing a value: B is needed"),
    ('A="${oops"\n', (1, 3), "invalid interpolation format"),
])
def test_errors_have_positions(text: str, mark: tuple[int, int], message: str) -> None:
    with pytest.raises(ComposeFileError, match=re.escape(message)) as info:
        parse_dotenv(text, "dir/.env", NO_ENV.get)
    assert info.value.mark == Mark("dir/.env", *mark)


# --- files -------------------------------------------------------------------

def test_read_env_file(tmp_path: Path) -> None:
    path = tmp_path / "app.env"
    path.write_text("A=1\nB=$A$X\n")
    assert read_env_file(path, {"X": "x"}.get) == {"A": "1", "B": "1x"}


def test_read_env_file_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.env"
    with pytest.raises(ComposeFileError, match="env file not found") as info:
        read_env_file(missing, NO_ENV.get)
    assert info.value.mark is None
    assert str(missing) in str(info.value)
    with pytest.raises(ComposeFileError, match="is a directory"):
        read_env_file(tmp_path, NO_ENV.get)
    bad = tmp_path / "bad.env"
    bad.write_bytes(b"A=1\nB=\xff\n")
    with pytest.raises(ComposeFileError, match="UTF-8") as info:
        read_env_file(bad, NO_ENV.get)
    assert info.value.mark == Mark(str(bad), 2, 3)
    invalid = tmp_path / "invalid.env"
    invalid.write_text("A=1\nB C=2\n")
    with pytest.raises(ComposeFileError) as info:
        read_env_file(invalid, NO_ENV.get)
    assert info.value.mark == Mark(str(invalid), 2, 1)


def test_project_environment_reads_dot_env_and_os_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TAG=file\nONLY_FILE=f\nREF=$TAG\n")
    env = project_environment(tmp_path, None, {"TAG": "os", "PATH": "/bin"})
    assert env == {"TAG": "os", "ONLY_FILE": "f", "REF": "os", "PATH": "/bin"}


def test_project_environment_without_dot_env(tmp_path: Path) -> None:
    assert project_environment(tmp_path, None, {"A": "1"}) == {"A": "1"}
    (tmp_path / ".env").mkdir()  # a directory named .env is ignored, like compose-go
    assert project_environment(tmp_path, None, {}) == {}


def test_project_environment_disabled(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("A=1\n")
    assert project_environment(tmp_path, None, {}, disable_env_file=True) == {}


def test_env_files_replace_dot_env_in_order(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DEFAULT=1\n")
    first = tmp_path / "first.env"
    second = tmp_path / "second.env"
    first.write_text("A=first\nB=first\n")
    second.write_text("B=second\nC=$A-$B\n")
    env = project_environment(tmp_path, [first, second], {"OS": "o"})
    assert env == {"A": "first", "B": "second", "C": "first-second", "OS": "o"}
    env = project_environment(tmp_path, [second, first], {"B": "os"})
    assert env == {"B": "os", "C": "-os", "A": "first"}


def test_env_files_apply_even_when_default_disabled(tmp_path: Path) -> None:
    explicit = tmp_path / "x.env"
    explicit.write_text("X=1\n")
    assert project_environment(tmp_path, [explicit], {}, disable_env_file=True) == {"X": "1"}


def test_missing_explicit_env_file_is_an_error(tmp_path: Path) -> None:
    present = tmp_path / "present.env"
    present.write_text("A=1\n")
    with pytest.raises(ComposeFileError, match="env file not found"):
        project_environment(tmp_path, [present, tmp_path / "absent.env"], {})


_DOTENV_CHARS = st.sampled_from(list("AB_1=: \t\n#'\"\\${}-export"))


@given(st.text(alphabet=_DOTENV_CHARS, max_size=60) | st.text(max_size=60))
def test_random_text_raises_only_compose_errors(text: str) -> None:
    try:
        values = parse_dotenv(text, ".env", {"A": "a"}.get)
    except ComposeFileError:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in values.items())
