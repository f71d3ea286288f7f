"""Read one compose file: YAML text to MDict/MList with positions.

Scalars resolve by the YAML 1.2 core schema, as Docker Compose's parser does:
`yes`/`on` stay strings and `80:80` stays a string (PyYAML's YAML 1.1 default
would turn them into True and 4880). `!reset` and `!override` are recorded on
the enclosing mapping for the merge stage; `<<` merge keys are honoured.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from compose.errors import ComposeFileError, Mark
from compose.loader.marks import OVERRIDE, RESET, MDict, MList
from compose.loader.yaml_limits import MAX_DEPTH, check_graph, may_alias

_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"
_DIRECTIVES = {"!reset": RESET, "!override": OVERRIDE}


class _Resolver(yaml.resolver.BaseResolver):
    """YAML 1.2 core schema."""


_Resolver.yaml_implicit_resolvers = {}
_Resolver.add_implicit_resolver(_NULL, re.compile(r"^(?:~|null|Null|NULL|)$"), [*list("~nN"), ""])
_Resolver.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Resolver.add_implicit_resolver(
    _INT, re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|0b[01]+)$"), list("-+0123456789")
)
_Resolver.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)
_Resolver.add_implicit_resolver(_MERGE, re.compile(r"^<<$"), ["<"])

class _PyNodeReader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser,
                    yaml.composer.Composer, _Resolver):
    def __init__(self, text: str) -> None:
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _Resolver.__init__(self)
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        # PyYAML's own composer recurses: stop at the depth `check_graph` refuses anyway.
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH + 1:
                raise yaml.composer.ComposerError(None, None, f"exceeded maximum nesting depth of {MAX_DEPTH}",
                                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


# libyaml (0.2.5 and later) refuses documents nested more than 1,000 levels deep on its own.
if getattr(yaml, "__with_libyaml__", False):

    class _CNodeReader(yaml.cyaml.CParser, _Resolver):  # type: ignore[name-defined]
        def __init__(self, text: str) -> None:
            yaml.cyaml.CParser.__init__(self, text)  # type: ignore[attr-defined]
            _Resolver.__init__(self)

    _NodeReader: type = _CNodeReader
else:
    _NodeReader = _PyNodeReader


def _mark(file: str, node: yaml.Node) -> Mark:
    return Mark(file, node.start_mark.line + 1, node.start_mark.column + 1)


def parse_yaml(text: str, file: str) -> Any:
    """Parse YAML text into MDict/MList/scalars; None for an empty document."""
    reader = None
    try:
        reader = _NodeReader(text)  # the pure-Python reader checks the characters here
        node = reader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        m = exc.problem_mark or exc.context_mark
        where = Mark(file, m.line + 1, m.column + 1) if m else Mark(file, 1, 1)
        problem = (exc.problem or exc.context or "invalid YAML").splitlines()[0]  # one line, always
        raise ComposeFileError(f"invalid YAML: {problem}", where) from None
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, file) from None
    except UnicodeEncodeError as exc:  # a lone surrogate: undecodable bytes read from stdin
        raise ComposeFileError("invalid YAML: not valid UTF-8", _text_mark(text, exc.start, file)) from None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        raise ComposeFileError(f"invalid YAML: {first}", Mark(file, 1, 1)) from None
    finally:
        if reader is not None:
            reader.dispose()
    if node is None:
        return None
    if may_alias(text):  # a graph with shared nodes: bound what it would expand to before building it
        check_graph(node, file)
    return _Builder(file).build(node)


def _reader_error(exc: yaml.reader.ReaderError, text: str, file: str) -> ComposeFileError:
    """A character YAML does not allow (control characters, U+FFFE...), at its line:col."""
    pos = exc.position
    if _NodeReader is not _PyNodeReader:  # libyaml counts bytes of UTF-8
        pos = len(text.encode("utf-8")[:pos].decode("utf-8", "ignore"))
    char = exc.character
    code = char if isinstance(char, int) else ord(char[:1] or "\0")
    what = "control character" if code < 0xA0 else "character"
    return ComposeFileError(f"invalid YAML: {what} U+{code:04X} is not allowed", _text_mark(text, pos, file))


def _text_mark(text: str, pos: int, file: str) -> Mark:
    return Mark(file, text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1)


class _Builder:
    """Nodes to MDict/MList/scalars (aliases copied); `check_graph` has bounded what aliases expand to."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.depth = 0

    def build(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ComposeFileError(f"invalid YAML: exceeded maximum nesting depth of {MAX_DEPTH}",
                                   _mark(self.file, node))
        if isinstance(node, yaml.MappingNode):
            out: Any = self._mapping(node)
        else:
            out = MList(mark=_mark(self.file, node))
            for item in node.value:
                out.append(self.build(item))
                out.item_marks.append(_mark(self.file, item))
        self.depth -= 1
        return out

    def _mapping(self, node: yaml.MappingNode) -> MDict:
        out = MDict(mark=_mark(self.file, node))
        merged: list[MDict] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.extend(self._merge_sources(value_node))
                continue
            key = self._key(key_node)
            if key in out:
                first = out.key_marks[key]
                raise ComposeFileError(
                    f"mapping key {key!r} already defined at line {first.line}", _mark(self.file, key_node)
                )
            out[key] = self.build(value_node)
            out.key_marks[key] = _mark(self.file, key_node)
            if value_node.tag in _DIRECTIVES:
                out.tags[key] = _DIRECTIVES[value_node.tag]
        for source in merged:  # `<<` keys lose to the mapping's own keys, earlier sources win
            for key, value in source.items():
                if key not in out:
                    out[key] = value
                    out.key_marks[key] = source.mark_of(key) or out.mark  # type: ignore[assignment]
        return out

    def _merge_sources(self, node: yaml.Node) -> list[MDict]:
        nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
        sources = []
        for item in nodes:
            value = self.build(item)
            if not isinstance(value, MDict):
                raise ComposeFileError("invalid YAML: '<<' merges only mappings", _mark(self.file, item))
            sources.append(value)
        return sources

    def _key(self, node: yaml.Node) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise ComposeFileError("invalid YAML: mapping keys must be scalars", _mark(self.file, node))
        value = self._scalar(node)
        if value is None:
            return "null" if node.value else ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value) if not isinstance(value, str) else value

    def _scalar(self, node: yaml.Node) -> Any:
        value = node.value
        tag = node.tag
        if tag in _DIRECTIVES:  # `!reset` / `!override` carry the value their node would have had
            tag = _resolve_plain(value) if isinstance(node, yaml.ScalarNode) and node.style is None else _STR
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return value.lower() == "true"
        if tag == _INT:
            return _to_int(value, self.file, node)
        if tag == _FLOAT:
            return _to_float(value)
        if tag in (_STR, "!", "tag:yaml.org,2002:binary", "tag:yaml.org,2002:timestamp"):
            return value
        raise ComposeFileError(f"invalid YAML: unknown tag {tag}", _mark(self.file, node))


def _resolve_plain(value: str) -> str:
    for tag, regexp in _Resolver.yaml_implicit_resolvers.get(value[:1], []):
        if regexp.match(value):
            return str(tag)
    return _STR


def _to_int(text: str, file: str, node: yaml.Node) -> int:
    try:
        if text.startswith("0o"):
            return int(text[2:], 8)
        if text.startswith("0x"):
            return int(text[2:], 16)
        if text.startswith("0b"):
            return int(text[2:], 2)
        if len(text) > 1 and text.startswith("0") and text.isdigit():
            # Compose's parser (go-yaml) keeps YAML 1.1 octal here: `mode: 0440` is 288.
            return int(text, 8)
        return int(text, 10)
    except ValueError:
        raise ComposeFileError(f"invalid YAML: bad integer {text!r}", _mark(file, node)) from None


def _to_float(text: str) -> float:
    low = text.lower()
    if low.endswith(".inf"):
        return -math.inf if low.startswith("-") else math.inf
    if low == ".nan":
        return math.nan
    return float(text)
