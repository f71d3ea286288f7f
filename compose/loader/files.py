"""One compose file through the per-file stages: read, parse, interpolate, validate, canonical, extends."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from compose.errors import ComposeFileError, Mark, display_path
from compose.loader.canonical import canonical
from compose.loader.extends import apply_extends
from compose.loader.interpolate import interpolate
from compose.loader.marks import MDict
from compose.loader.textfile import COMPOSE_FILE_LIMIT, read_text
from compose.loader.validate import validate
from compose.loader.yamlfile import parse_yaml

STDIN = "-"


def display_name(path: str, working_dir: Path) -> str:
    """How a file is named in messages: relative to where the user is when below it."""
    return "<stdin>" if path == STDIN else display_path(path, working_dir)


@dataclass
class FileReader:
    """Reads compose files for one project; each file is processed once."""

    environment: Mapping[str, str]
    working_dir: Path
    do_interpolate: bool = True
    read_stdin: Callable[[], str] = lambda: ""
    _canonical: dict[tuple[str, bool], MDict] = field(default_factory=dict)

    def read(self, path: str) -> MDict:
        """The file after parse, interpolation, validation, canonical forms and extends."""
        folder = self.working_dir if path == STDIN else Path(path).parent
        name = "-" if path == STDIN else Path(path).name
        return apply_extends(self.read_canonical(path), folder / name, self._for_extends)

    def read_canonical(self, path: str, extends_base: bool = False) -> MDict:
        """The file up to canonical forms, once per file (extends resolves its own chains)."""
        key = (path if path == STDIN else os.path.realpath(path), extends_base)
        if key not in self._canonical:
            self._canonical[key] = self._parse(path, display_name(path, self.working_dir), extends_base)
        return self._canonical[key]

    def _for_extends(self, path: Path) -> MDict:
        return self.read_canonical(str(path), extends_base=True)

    def _parse(self, path: str, name: str, extends_base: bool = False) -> MDict:
        text = self._text(path, name)
        doc = parse_yaml(text, name)
        if doc is None:
            raise ComposeFileError("empty compose file", Mark(name, 1, 1))
        if not isinstance(doc, MDict):
            raise ComposeFileError("top-level object must be a mapping", getattr(doc, "mark", None) or Mark(name, 1, 1))
        if self.do_interpolate:
            doc = interpolate(doc, self.environment)
        if extends_base:
            doc = _null_services_empty(doc)
        validate(doc, name)
        return canonical(doc)

    def _text(self, path: str, name: str) -> str:
        if path == STDIN:
            return self.read_stdin()
        return read_text(path, name, "compose file", COMPOSE_FILE_LIMIT, allow_fifo=True)


def _null_services_empty(doc: MDict) -> MDict:
    """A file read for `extends`: a service written as null (`web:`) is an empty one, as compose-go's."""
    services = doc.get("services")
    if not isinstance(services, MDict) or all(value is not None for value in services.values()):
        return doc
    out = doc.derive(doc.items())
    out["services"] = services.derive((k, MDict() if v is None else v) for k, v in services.items())
    return out
