"""Env files: Docker Compose's dotenv syntax, and the project's interpolation environment.

The syntax is compose-go's `dotenv` package: `KEY=value` (or `KEY: value`),
optional `export `, `#` comments, ` #` inline comments after unquoted values,
'single quotes' taken literally, "double quotes" with backslash escapes, both
may span lines, and a bare `KEY` copies the variable from the environment.
Unquoted and double-quoted values are interpolated, looking a name up first
in the environment, then among the values already read (the OS environment
wins, as it does for the final result).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from compose.errors import ComposeFileError, Mark, display_path
from compose.loader.interpolate import substitute
from compose.loader.textfile import ENV_FILE_LIMIT, read_text

Lookup = Callable[[str], "str | None"]

# Whitespace inside a line (compose-go's isSpace): never a line break.
_SPACE = frozenset("\t\v\f\r \x85\xa0")
_KEY_PUNCTUATION = frozenset("_.-[]")
_EXPORT = re.compile(r"export[ \t\n\f\r]+")
_ESCAPE = re.compile(r'\\(?:[abcfnrtv$"\\]|0[0-9]{0,3})')
_ESCAPED = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
            '"': '"', "\\": "\\", "$": "$$"}  # `\$` becomes `$$`, which interpolation turns into `$`


def parse_dotenv(text: str, file: str, lookup: Lookup) -> dict[str, str]:
    """The variables an env file defines; `lookup` is the environment (None when unset)."""
    out: dict[str, str] = {}
    _Parser(text, file, lookup, out).run()
    return out


def read_env_file(path: Path, lookup: Lookup) -> dict[str, str]:
    """`parse_dotenv` of the file at `path`; a missing file is an error without a position."""
    out: dict[str, str] = {}
    _Parser(_read(path), display_path(path), lookup, out).run()
    return out


def project_environment(project_dir: Path, env_files: Sequence[Path] | None, os_environ: Mapping[str, str],
                        disable_env_file: bool = False) -> dict[str, str]:
    """The environment compose files are interpolated with.

    `env_files` (like `--env-file`, in order, later wins) replace the default
    `<project_dir>/.env`, which is read only if it exists and not disabled.
    Variables set in `os_environ` win over every file.
    """
    if env_files:
        paths = list(env_files)
    else:
        default = project_dir / ".env"
        # A `.env` folder (a virtualenv, say) is not an env file; a FIFO or device there is an error.
        paths = [default] if not disable_env_file and default.exists() and not default.is_dir() else []
    from_files: dict[str, str] = {}
    for path in paths:
        # One mapping shared by all files, so a file can use what an earlier one set.
        _Parser(_read(path), display_path(path), os_environ.get, from_files).run()
    return {**from_files, **os_environ}


def _read(path: Path) -> str:
    return read_text(path, display_path(path), "env file", ENV_FILE_LIMIT)


class _Parser:
    """One pass over an env file, writing into `out` (which may hold earlier files' values)."""

    def __init__(self, text: str, file: str, lookup: Lookup, out: dict[str, str]) -> None:
        self.text = text.removeprefix("\ufeff")
        self.file = file
        self.lookup = lookup
        self.out = out
        self.warned: set[str] = set()
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    def mark(self, pos: int) -> Mark:
        index = bisect.bisect_right(self.line_starts, pos) - 1
        return Mark(self.file, index + 1, pos - self.line_starts[index] + 1)

    def resolve(self, name: str) -> str | None:
        value = self.lookup(name)
        return value if value is not None else self.out.get(name)

    def run(self) -> None:
        pos = self.statement_start(0)
        while pos < len(self.text):
            pos = self.statement_start(self.statement(pos))

    def statement_start(self, pos: int) -> int:
        """Index of the next statement, past blank lines and comment lines."""
        text = self.text
        while pos < len(text):
            if text[pos].isspace():
                pos += 1
            elif text[pos] == "#":
                end = text.find("\n", pos)
                pos = len(text) if end < 0 else end
            else:
                break
        return pos

    def statement(self, pos: int) -> int:
        """Read the `KEY=value` (or bare `KEY`) at pos; returns where the next one may start."""
        text = self.text
        export = _EXPORT.match(text, pos)
        if export is not None:
            pos += len("export")
            while pos < len(text) and text[pos] in _SPACE:
                pos += 1
        end = pos
        while end < len(text) and text[end] not in "=:\n":
            char = text[end]
            if not (char in _SPACE or char in _KEY_PUNCTUATION or char.isalpha() or char.isnumeric()):
                raise ComposeFileError(f"unexpected character {_shown(char)} in a variable name", self.mark(end))
            end += 1
        key = text[pos:end].rstrip()
        if any(char in _SPACE for char in key):
            shown = f" {key!r}" if len(key) <= 64 and key.isprintable() else ""  # a name, not a line of a key file
            raise ComposeFileError(f"variable name{shown} cannot contain a space", self.mark(pos))
        if end >= len(text) or text[end] == "\n":
            # A bare `KEY` passes the variable through if the environment has it.
            value = self.resolve(key) if key else None
            if value is not None:
                self.out[key] = value
            return end + 1
        if not key:
            raise ComposeFileError("missing variable name before '='", self.mark(pos))
        pos = end + 1
        while pos < len(text) and text[pos] in _SPACE:
            pos += 1
        if text[pos:pos + 1] in ("'", '"'):
            value, pos = self.quoted(key, pos)
        else:
            value, pos = self.unquoted(key, pos)
        self.out[key] = value
        return pos

    def unquoted(self, key: str, pos: int) -> tuple[str, int]:
        end = self.text.find("\n", pos)
        end = len(self.text) if end < 0 else end
        raw = self.text[pos:end].split(" #", 1)[0].rstrip()
        return self.expand(raw, key, pos), end + 1

    def quoted(self, key: str, start: int) -> tuple[str, int]:
        text = self.text
        quote = text[start]
        chars: list[str] = []
        escaped = False
        pos = start + 1
        while pos < len(text):
            char = text[pos]
            pos += 1
            if char == quote and not escaped:
                break
            if char == "\\" and not escaped:
                escaped = True
                continue
            if escaped and char != quote:
                chars.append("\\")  # keep the backslash; escapes are decoded below
            escaped = False
            chars.append(char)
        else:
            raise ComposeFileError(f"unterminated quoted value for {key}", self.mark(start))
        rest = pos
        while rest < len(text) and text[rest] in _SPACE:
            rest += 1
        if rest < len(text) and text[rest] not in "\n#":
            raise ComposeFileError(f"unexpected text after the quoted value of {key}", self.mark(rest))
        value = "".join(chars)
        if quote == '"':
            value = self.expand(_ESCAPE.sub(_unescape, value), key, start)
        return value, rest

    def expand(self, value: str, key: str, pos: int) -> str:
        try:
            return substitute(value, self.resolve, self.mark(pos), key, warned=self.warned)
        except ComposeFileError as exc:
            if exc.message.startswith("invalid interpolation format"):  # without the value: it may be a secret
                raise ComposeFileError("invalid interpolation format (you may need to escape any $ with another $)",
                                       exc.mark, exc.path) from None
            raise


def _unescape(match: re.Match[str]) -> str:
    escape = match.group()
    if escape[1] != "0":
        return _ESCAPED[escape[1]]
    digits = escape[2:]  # `\0` + three octal digits is one byte's code; anything else stays
    if len(digits) == 3 and "8" not in digits and "9" not in digits and int(digits, 8) <= 0o377:
        return chr(int(digits, 8))
    return escape


def _shown(char: str) -> str:
    """A character for a message: printable ones quoted, others as their code point."""
    return repr(char) if char.isprintable() else f"U+{ord(char):04X}"
