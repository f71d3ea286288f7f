"""Words of a Dockerfile: quote removal and `$` substitution as buildkit's shell lexer does.

- `expand(word, env)`: one word's value (quotes removed, `$v ${v} ${v:-w} ${v-w} ${v:+w}
  ${v+w} ${v:?w} ${v?w} ${v#p} ${v##p} ${v%p} ${v%%p} ${v/p/r} ${v//p/r}`, escapes);
  what the builder does to ENV/LABEL/WORKDIR/USER/COPY... words at each step.
- `expand_words(text, env)`: the same, split on unquoted whitespace after substitution.
- `split_words(text)`: the raw split the parser does (quotes and escapes kept).
- `expand_heredoc(body, env)`: a COPY/ADD heredoc body (quotes kept, `$` and `\\` processed).

Errors are `WordError`s worded as buildkit's (`failed to process "${x": syntax error: missing '}'`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from runtime.dockerfile.errors import WordError
from runtime.dockerfile.patterns import pattern_regex, trim_prefix, trim_suffix

_SPECIAL_PARAMS = "@*#?-$!0"


def go_quote(text: str) -> str:
    """Go's %q of a string (enough of strconv.Quote for messages)."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


@dataclass
class _Words:
    buf: str = ""
    words: list[str] = field(default_factory=list)
    in_word: bool = False

    def add_char(self, ch: str) -> None:
        if ch.isspace():
            if self.in_word and self.buf:
                self.words.append(self.buf)
                self.buf, self.in_word = "", False
        else:
            self.add_raw(ch)

    def add_raw(self, text: str) -> None:
        self.buf += text
        self.in_word = True

    def add_string(self, text: str) -> None:
        for ch in text:
            self.add_char(ch)

    def result(self) -> list[str]:
        if self.buf:
            self.words.append(self.buf)
            self.buf = ""
        return self.words


@dataclass
class Lexer:
    """One pass over a word; the flags are buildkit's Lex options (the parser's heredoc
    detection keeps quotes and escapes raw and leaves unset variables as written)."""

    escape: str = "\\"
    raw_quotes: bool = False
    raw_escapes: bool = False
    skip_unset: bool = False
    skip_quotes: bool = False
    _text: str = ""
    _pos: int = 0
    _env: Mapping[str, str] = field(default_factory=dict)

    def process(self, text: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
        self._text, self._pos, self._env = text, 0, env
        try:
            return self._until("", self.raw_escapes)
        except WordError as e:
            raise WordError(f"failed to process {go_quote(text)}: {e}") from None

    # -- scanning helpers
    def _peek(self) -> str:
        return self._text[self._pos] if self._pos < len(self._text) else ""

    def _next(self) -> str:
        ch = self._peek()
        if ch:
            self._pos += 1
        return ch

    def _get(self, name: str) -> tuple[str, bool]:
        if name in self._env:
            return self._env[name], True
        return "", False

    # -- the grammar
    def _until(self, stop: str, raw_escapes: bool) -> tuple[str, list[str]]:
        saved, self.raw_escapes = self.raw_escapes, raw_escapes
        try:
            result: list[str] = []
            words = _Words()
            while self._pos < len(self._text):
                ch = self._peek()
                if stop and ch == stop:
                    self._next()
                    return "".join(result), words.result()
                if ch == "$":
                    value = self._dollar()
                    result.append(value)
                    words.add_string(value)
                elif ch == "<" or (ch in "'\"" and not self.skip_quotes):
                    value = self._heredoc_start() if ch == "<" else self._quoted(ch)
                    result.append(value)
                    words.add_raw(value)
                else:
                    self._next()
                    if ch == self.escape:
                        if self.raw_escapes:
                            words.add_raw(ch)
                            result.append(ch)
                        ch = self._next()
                        if not ch:
                            break
                        words.add_raw(ch)
                    else:
                        words.add_char(ch)
                    result.append(ch)
            if stop:
                raise WordError(f"unexpected end of statement while looking for matching {stop}")
            return "".join(result), words.result()
        finally:
            self.raw_escapes = saved

    def _quoted(self, quote: str) -> str:
        out: list[str] = []
        self._next()
        if self.raw_quotes:
            out.append(quote)
        if quote == "'":
            while True:
                ch = self._next()
                if not ch:
                    raise WordError("unexpected end of statement while looking for matching single-quote")
                if ch == "'":
                    if self.raw_quotes:
                        out.append(ch)
                    return "".join(out)
                out.append(ch)
        while True:
            ch = self._peek()
            if not ch:
                raise WordError("unexpected end of statement while looking for matching double-quote")
            if ch == '"':
                self._next()
                if self.raw_quotes:
                    out.append(ch)
                return "".join(out)
            if ch == "$":
                out.append(self._dollar())
                continue
            self._next()
            if ch == self.escape:
                if self.raw_escapes:
                    out.append(ch)
                following = self._peek()
                if not following:
                    continue
                if following in ('"', "$", self.escape):
                    ch = self._next()
            out.append(ch)

    def _heredoc_start(self) -> str:
        self._next()
        if self._peek() != "<":
            return "<"
        self._next()
        start = self._pos
        while self._peek() in (" ", "\t", "\r") and self._peek():
            self._next()
        return "<<" + self._text[start:self._pos]

    def _name(self) -> str:
        start = self._pos
        ch = self._peek()
        if ch and ch.isdigit():
            while self._peek() and self._peek().isdigit():
                self._next()
            return self._text[start:self._pos]
        if ch and ch in _SPECIAL_PARAMS:
            return self._next()
        while self._peek() and (self._peek().isalnum() or self._peek() == "_"):
            self._next()
        return self._text[start:self._pos]

    def _dollar(self) -> str:
        self._next()
        if self._peek() != "{":
            name = self._name()
            if not name:
                return "$"
            value, found = self._get(name)
            return "$" + name if not found and self.skip_unset else value
        self._next()
        if not self._peek():
            raise WordError("syntax error: missing '}'")
        if self._peek() in "{}:":
            raise WordError("syntax error: bad substitution")
        name = self._name()
        ch = self._next()
        if not ch:
            raise WordError("syntax error: missing '}'")
        if ch == "}":
            value, found = self._get(name)
            return "${" + name + "}" if not found and self.skip_unset else value
        if ch == "/":
            return self._replace(name)
        modifier, null_is_unset = ch, False
        if ch == ":":
            null_is_unset = True
            ch = self._next()
            modifier += ch or "\ufffd"
        elif ch not in "+-?#%":
            raise WordError(f"unsupported modifier ({modifier}) in substitution")
        if null_is_unset and ch and ch in "#%":
            raise WordError(f"unsupported modifier ({modifier}) in substitution")
        word = self._word_until_brace(ch in "#%")
        value, found = self._get(name)
        if self.skip_unset and not found:
            return "${" + name + modifier + word + "}"
        unset = not found or (null_is_unset and value == "")
        if ch == "-":
            return word if unset else value
        if ch == "+":
            return "" if unset else word
        if ch == "?":
            if not found:
                raise WordError(f"{name}: {word or 'is not allowed to be unset'}")
            if null_is_unset and value == "":
                raise WordError(f"{name}: {word or 'is not allowed to be empty'}")
            return value
        if not ch or ch not in "#%":
            raise WordError(f"unsupported modifier ({modifier}) in substitution")
        greedy = word.startswith(ch)
        pattern = word[1:] if greedy else word
        if ch == "%":
            return trim_suffix(pattern, value, greedy)
        return trim_prefix(pattern, value, greedy)

    def _word_until_brace(self, raw_escapes: bool) -> str:
        try:
            return self._until("}", raw_escapes)[0]
        except WordError:
            if not self._peek():
                raise WordError("syntax error: missing '}'") from None
            raise

    def _replace(self, name: str) -> str:
        replace_all = self._peek() == "/"
        if replace_all:
            self._next()
        try:
            pattern = self._until("/", True)[0]
        except WordError:
            if not self._peek():
                raise WordError("syntax error: missing '/' in ${}") from None
            raise
        replacement = self._word_until_brace(True)
        value, found = self._get(name)
        if self.skip_unset and not found:
            return "${" + name + "/" + pattern + "/" + replacement + "}"
        regex = pattern_regex(pattern, greedy=True, anchored=False)
        if replace_all:
            return regex.sub(lambda _m: replacement, value)
        return regex.sub(lambda _m: replacement, value, count=1)


def expand(word: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """The value of one word: quotes removed, `$` references substituted."""
    return Lexer(escape=escape).process(word, env)[0]


def expand_heredoc(content: str, env: Mapping[str, str]) -> str:
    """A COPY/ADD heredoc body whose delimiter was not quoted: `$` references substituted and `\\`
    escapes applied, quotes left as they are (buildkit's SkipProcessQuotes; always `\\`)."""
    return Lexer(skip_quotes=True).process(content, env)[0]


def expand_words(text: str, env: Mapping[str, str], escape: str = "\\") -> list[str]:
    """`text` split on unquoted whitespace after substitution, each word's value."""
    return Lexer(escape=escape).process(text, env)[1]


def split_words(text: str, escape: str = "\\") -> list[str]:
    """The parser's raw split on whitespace: quotes and escapes stay in the words."""
    words: list[str] = []
    cur: list[str] = []
    blank_ok = False
    quote = ""
    i, n = 0, len(text)
    in_word = False
    while i < n:
        ch = text[i]
        if not in_word:
            if ch.isspace():
                i += 1
                continue
            in_word = True
        if quote:
            escaped = ch != quote and ch == escape and quote != "'"
            if ch == quote:
                quote = ""
            i = _take(text, i, cur, escaped)
            continue
        if ch.isspace():
            if blank_ok or cur:
                words.append("".join(cur))
            cur, blank_ok, in_word = [], False, False
            i += 1
            continue
        if ch in "'\"":
            quote, blank_ok = ch, True
        i = _take(text, i, cur, ch == escape)
    if in_word and (blank_ok or cur):
        words.append("".join(cur))
    return words


def _take(text: str, i: int, cur: list[str], escaped: bool) -> int:
    """`text[i]` onto `cur`, and the character after it when it is an escape (kept, as the split
    keeps escapes; an escape that ends the text is dropped); the index after what was taken."""
    if escaped:
        if i + 1 == len(text):
            return i + 1
        cur.append(text[i])
        i += 1
    cur.append(text[i])
    return i + 1
