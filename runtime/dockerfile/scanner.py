"""Lines to logical lines: parser directives, comments, continuations and heredoc bodies.

As buildkit reads a Dockerfile: directives (`# syntax=`, `# escape=`, `# check=`) only before
anything else; a comment or blank line inside a continuation is skipped; the escape character
at the end of a line (spaces after it allowed) continues it; after a RUN/COPY/ADD line naming
heredocs, their bodies follow, each up to its delimiter line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from runtime.dockerfile.errors import DockerfileError, WordError
from runtime.dockerfile.instructions import Heredoc
from runtime.dockerfile.syntax import Node, heredocs_in_line, node_from_line
from runtime.dockerfile.words import go_quote

MAX_LINE = 64 * 1024  # Go's bufio.MaxScanTokenSize
_DIRECTIVE = re.compile(r"([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*\Z")
_LINES = re.compile(r"[^\n]*\n|[^\n]+\Z")
_LEADING_TABS = re.compile(r"^\t+", re.MULTILINE)
DIRECTIVES = ("syntax", "escape", "check")
GO_BOOLS = ("1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False")


@dataclass
class Directives:
    escape: str = "\\"
    values: dict[str, str] = field(default_factory=dict)
    done: bool = False
    continuation: re.Pattern[str] = field(default_factory=lambda: _continuation("\\"))

    def feed(self, line: str) -> None:
        """Look at a (left-trimmed) line while directives are still possible."""
        if self.done:
            return
        if not line.startswith("#"):
            self.done = True
            return
        match = _DIRECTIVE.match(line[1:].lstrip())
        key = match.group(1).lower() if match else ""
        if match is None or key not in DIRECTIVES:
            self.done = True
            return
        if key in self.values:
            raise ValueError(f"only one {key} parser directive can be used")
        value = match.group(2)
        self.values[key] = value
        if key == "check":
            check_options(value)
        if key == "escape":
            if value not in ("\\", "`"):
                raise ValueError(f"invalid escape token '{value}' does not match ` or \\")
            self.escape = value
            self.continuation = _continuation(value)


def check_options(text: str) -> None:
    """The `# check=skip=A,B;error=true;experimental=all` directive, refused as buildkit refuses it."""
    text = text.strip()
    if not text:
        return
    for part in text.split(";", 2):
        key, has_value, value = part.partition("=")
        if not has_value:
            raise ValueError(f"invalid check option {go_quote(part)}")
        key = key.strip()
        if key == "error" and value.strip() not in GO_BOOLS:
            raise ValueError(f"failed to parse check option {go_quote(part)}: strconv.ParseBool: parsing "
                             f"{go_quote(value.strip())}: invalid syntax")
        if key not in ("skip", "experimental", "error"):
            raise ValueError(f"invalid check option {go_quote(key)}")


def _continuation(escape: str) -> re.Pattern[str]:
    e = re.escape(escape)
    return re.compile(rf"([^{e}]){e}[ \t]*\Z|^{e}[ \t]*\Z")


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _trim_newline(line: str) -> str:
    return line.rstrip("\r\n")


def chomp(content: str) -> str:
    """`<<-`: leading tabs off every line."""
    return _LEADING_TABS.sub("", content)


@dataclass(frozen=True)
class Scanned:
    nodes: tuple[Node, ...]
    escape: str
    directives: dict[str, str]
    warnings: tuple[str, ...] = ()


class _Lines:
    def __init__(self, text: str) -> None:
        self.lines = _LINES.findall(text)
        self.index = 0
        self.number = 0  # lines consumed

    def next(self) -> str | None:
        if self.index >= len(self.lines):
            return None
        line = self.lines[self.index]
        self.index += 1
        self.number += 1
        if len(line.encode("utf-8", "surrogatepass")) > MAX_LINE:
            raise DockerfileError(self.number, f"dockerfile line greater than max allowed size of {MAX_LINE - 1}",
                                  kind="scan")
        return line


def scan(text: str) -> Scanned:
    if not text:
        raise DockerfileError(0, "the Dockerfile cannot be empty", kind="empty")
    text = text.removeprefix("\ufeff")
    lines = _Lines(text)
    directives = Directives()
    nodes: list[Node] = []
    warnings: list[str] = []
    while (raw := lines.next()) is not None:
        token = _trim_newline(raw).lstrip()
        _feed(directives, token, lines.number)
        token = "" if _is_comment(token) else token
        start = lines.number
        match = directives.continuation.search(token)
        if match is None and not token:
            continue
        parts = [directives.continuation.sub(lambda m: m.group(1) or "", token)]
        done = match is None
        empty_continuation = False
        while not done and (raw := lines.next()) is not None:
            token = _trim_newline(raw)
            _feed(directives, token, lines.number)
            if _is_comment(raw):
                continue
            if not token.lstrip():
                empty_continuation = True
                continue
            done = directives.continuation.search(token) is None
            parts.append(directives.continuation.sub(lambda m: m.group(1) or "", token))
        line = "".join(parts)
        if empty_continuation:
            warnings.append(f"[WARNING]: Empty continuation line found in: {line}")
        try:
            node = node_from_line(line, directives.escape)
            heredocs = _heredoc_heads(node, line)
        except (ValueError, WordError) as e:
            raise DockerfileError(start, str(e), kind="scan", end_line=lines.number) from None
        bodies = []
        for heredoc in heredocs:
            bodies.append(_read_body(lines, heredoc, start))
        nodes.append(replace(node, heredocs=tuple(bodies), line=start, end_line=lines.number))
    if not nodes:
        raise DockerfileError(lines.number, "file with no instructions", kind="scan")
    if warnings:
        warnings.append("[WARNING]: Empty continuation lines will become errors in a future release.")
    return Scanned(nodes=tuple(nodes), escape=directives.escape, directives=dict(directives.values),
                   warnings=tuple(warnings))


def _feed(directives: Directives, token: str, number: int) -> None:
    try:
        directives.feed(token)
    except ValueError as e:
        raise DockerfileError(number, str(e), kind="scan") from None


def _heredoc_heads(node: Node, line: str) -> list[Heredoc]:
    if not node.can_contain_heredoc() or "<<" not in line:
        return []
    return heredocs_in_line(line)


def _read_body(lines: _Lines, heredoc: Heredoc, start: int) -> Heredoc:
    content: list[str] = []
    while (raw := lines.next()) is not None:
        candidate = _trim_newline(raw)
        if heredoc.chomp:
            candidate = candidate.lstrip("\t")
        if candidate == heredoc.name:
            return replace(heredoc, content="".join(content))  # tabs of `<<-` still there (ONBUILD keeps them)
        content.append(raw)
    raise DockerfileError(start, "unterminated heredoc", kind="scan", end_line=lines.number)
