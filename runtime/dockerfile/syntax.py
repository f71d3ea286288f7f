"""One logical line of a Dockerfile as a node: its command, flags and arguments as buildkit's
line parsers split them (before any typing or checking of the instruction).

Argument shapes by instruction: ADD/COPY/VOLUME a JSON array or whitespace-separated words;
ARG words (quotes kept); CMD/ENTRYPOINT/RUN/SHELL a JSON array or the text as written;
ENV/LABEL name/value pairs (legacy `ENV k v` too); EXPOSE/FROM whitespace-separated;
HEALTHCHECK a type then a command; MAINTAINER/STOPSIGNAL/USER/WORKDIR the text as written;
ONBUILD a nested node. Unknown instructions keep no arguments (the parser refuses them).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from runtime.dockerfile.errors import WordError
from runtime.dockerfile.instructions import Heredoc
from runtime.dockerfile.words import Lexer, go_quote, split_words

WHITESPACE = re.compile(r"[\t\v\f\r ]+")
HEREDOC_WORD = re.compile(r"^(\d*)<<(-?)[\t\n\f\r ]*([^<]*)\Z")
HEREDOC_INSTRUCTIONS = ("add", "copy", "run")
_JSON_FORMS = ("add", "copy", "volume", "cmd", "entrypoint", "run", "shell", "healthcheck")


class NotStrings(ValueError):
    pass


@dataclass(frozen=True)
class Node:
    command: str  # as written (FROM, from, From)
    flags: tuple[str, ...]
    original: str  # the whole logical line
    args: tuple[str, ...]
    json: bool = False
    child: Node | None = None  # ONBUILD's trigger
    legacy_pair: tuple[bool, ...] = ()  # ENV/LABEL: True where `KEY value` (no '=')
    heredocs: tuple[Heredoc, ...] = ()
    line: int = 0
    end_line: int = 0

    @property
    def name(self) -> str:
        return self.command.lower()

    def can_contain_heredoc(self) -> bool:
        node = self.child if self.name == "onbuild" and self.child is not None else self
        return node.name in HEREDOC_INSTRUCTIONS and not node.json


def split_command(line: str, escape: str) -> tuple[str, list[str], str]:
    parts = WHITESPACE.split(line.strip(), maxsplit=1)
    if len(parts) < 2:
        return parts[0], [], ""
    rest, flags = extract_flags(parts[1], escape)
    return parts[0], flags, rest.strip()


def extract_flags(line: str, escape: str) -> tuple[str, list[str]]:
    """Leading `--x=y` words (quotes removed) and the text after them."""
    flags: list[str] = []
    word: list[str] = []
    quote = ""
    blank_ok = in_word = False
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if not in_word:
            if ch.isspace():
                i += 1
                continue
            if not line.startswith("--", i):
                return line[i:], flags
            in_word = True
        if quote:
            if ch == quote or (ch == escape and i + 1 == n):
                quote = ""
            else:
                if ch == escape:
                    i += 1
                    ch = line[i]
                word.append(ch)
            i += 1
            continue
        if ch.isspace():
            text = "".join(word)
            if text == "--":
                return line[i:], flags
            if blank_ok or text:
                flags.append(text)
            word, blank_ok, in_word = [], False, False
            i += 1
            continue
        if ch in "'\"":
            quote, blank_ok = ch, True
        elif ch == escape:
            if i + 1 < n:
                i += 1
                word.append(line[i])
        else:
            word.append(ch)
        i += 1
    text = "".join(word)
    if in_word and text != "--" and (blank_ok or text):
        flags.append(text)
    return "", flags


def _no_constants(name: str) -> object:
    raise ValueError(name)


def parse_json(rest: str) -> list[str] | None:
    """The JSON array of `rest`, None when it is not one; NotStrings for `[1, "a"]`."""
    rest = rest.lstrip()
    if not rest.startswith("["):
        return None
    try:
        value = json.loads(rest, parse_constant=_no_constants)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(item, str) for item in value):
        raise NotStrings("when using JSON array syntax, arrays must be comprised of strings only")
    return value


def _whitespace_words(rest: str) -> tuple[str, ...]:
    return tuple(WHITESPACE.split(rest)) if rest else ()


def _name_values(rest: str, key: str, escape: str) -> tuple[tuple[str, ...], tuple[bool, ...]]:
    words = split_words(rest, escape)
    if not words:
        return (), ()
    if "=" not in words[0]:
        parts = WHITESPACE.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise ValueError(f"{key} must have two arguments")
        return (parts[0], parts[1]), (True,)
    args: list[str] = []
    for word in words:
        if "=" not in word:
            raise ValueError(f"Syntax error - can't find = in {go_quote(word)}. Must be of the form: name=value")
        name, _, value = word.partition("=")
        args += [name, value]
    return tuple(args), (False,) * len(words)


def node_from_line(line: str, escape: str) -> Node:
    """The node of a logical line; ValueError with buildkit's text for malformed arguments."""
    command, flags, rest = split_command(line, escape)
    name = command.lower()
    args: tuple[str, ...] = ()
    is_json = False
    child = None
    legacy: tuple[bool, ...] = ()
    if name in _JSON_FORMS and name != "healthcheck":
        parsed = parse_json(rest) if (rest or name in ("add", "copy", "volume")) else None
        if parsed is not None:
            args, is_json = tuple(parsed), True
        elif name in ("add", "copy", "volume"):
            args = _whitespace_words(rest)
        elif rest:
            args = (rest,)
    elif name == "healthcheck":
        split = re.match(r"(\S*)\s*(.*)\Z", rest, re.DOTALL)
        kind, command_text = (split.group(1), split.group(2)) if split else ("", "")
        if kind:
            parsed = parse_json(command_text) if command_text else None
            if parsed is not None:
                args, is_json = (kind, *parsed), True
            else:
                args = (kind, command_text) if command_text else (kind,)
    elif name in ("env", "label"):
        args, legacy = _name_values(rest, name.upper(), escape)
    elif name == "arg":
        args = tuple(split_words(rest, escape))
    elif name in ("expose", "from"):
        args = _whitespace_words(rest)
    elif name in ("maintainer", "stopsignal", "user", "workdir"):
        args = (rest,) if rest else ()
    elif name == "onbuild" and rest:
        child = node_from_line(rest, escape)
        args = (child.command, *child.args)
    return Node(command=command, flags=tuple(flags), original=line, args=args, json=is_json, child=child,
                legacy_pair=legacy)


def parse_heredoc(word: str) -> Heredoc | None:
    """A `<<EOF`, `<<-EOF`, `<<"EOF"` word as a heredoc (content empty), None if it is not one."""
    match = HEREDOC_WORD.match(word)
    if match is None or not match.group(3):
        return None
    rest = match.group(3)
    plain = Lexer(skip_unset=True).process(rest, {})[1]
    if len(plain) != 1:
        return None
    raw = Lexer(skip_unset=True, raw_quotes=True).process(rest, {})[1]
    if len(raw) != 1:
        raise WordError(f"internal lexing of heredoc produced inconsistent results: {rest}")
    quotes = plain[0].count("'") + plain[0].count('"')
    raw_quotes = raw[0].count("'") + raw[0].count('"')
    return Heredoc(name=plain[0], content="", expand=quotes == raw_quotes, chomp=match.group(2) == "-")


def heredocs_in_line(line: str) -> list[Heredoc]:
    try:
        words = Lexer(raw_quotes=True, raw_escapes=True, skip_unset=True).process(line, {})[1]
    except WordError:
        return []
    found = []
    for word in words:
        heredoc = parse_heredoc(word)
        if heredoc is not None:
            found.append(heredoc)
    return found
