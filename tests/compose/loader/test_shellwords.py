"""split_command(): go-shellwords as compose uses it for `command` and `entrypoint`."""

from __future__ import annotations

import pytest

from compose.loader.shellwords import split_command


@pytest.mark.parametrize(("line", "words"), [
    ("echo hello world", ["echo", "hello", "world"]),
    ("  spaced   out  ", ["spaced", "out"]),
    ("sh -c 'echo $HOME'", ["sh", "-c", "echo $HOME"]),
    ('echo "a \\"b\\" c"', ["echo", 'a "b" c']),
    ("echo ''", ["echo", ""]),
    ("a\\ b", ["a b"]),
    ("echo \\t\\n", ["echo", "\t\n"]),
    ("'it\\'", ["it\\"]),
    ("echo hi; rm -rf /", ["echo", "hi"]),
    ("echo 2>&1", ["echo"]),
    ("echo a|b", ["echo", "a"]),
    ("echo $(date +%s) x", ["echo", "$(date +%s)", "x"]),
    ("echo `date`", ["echo", "`date`"]),
    ("", []),
])
def test_split(line: str, words: list[str]) -> None:
    assert split_command(line) == words


@pytest.mark.parametrize("line", ["echo 'open", 'echo "open', "trailing\\", "echo (x)", "echo )"])
def test_invalid(line: str) -> None:
    with pytest.raises(ValueError, match="invalid command line string"):
        split_command(line)
