"""The fast yes/no schema check: fastjsonschema's generated code, cached.

fastjsonschema turns the schema into plain Python (16 ms for 500 services,
against 150-300 ms for jsonschema), but generating that code costs ~0.5 s. The
generated module is written once per schema version to the user's cache and
imported from there, so Python's own bytecode cache makes later loads ~1 ms.
When the cache cannot be written, the check is compiled in memory.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

Check = Callable[[Any], bool]
# Bump when the shape of the cached module changes, so old caches are not reused.
_LAYOUT = 1


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pycompose"


def _generated_module(schema_text: str) -> Any:
    import fastjsonschema

    digest = hashlib.sha256(f"{_LAYOUT}\n{fastjsonschema.VERSION}\n{schema_text}".encode()).hexdigest()[:20]
    path = _cache_dir() / f"compose_schema_{digest}.py"
    if not path.is_file():
        code = fastjsonschema.compile_to_code(json.loads(schema_text))
        # The root validator is the first function generated; give it a fixed name.
        root = re.search(r"^def (\w+)\(", code, re.MULTILINE)
        if root is None:
            raise SyntaxError("fastjsonschema generated no validator")
        code += f"\n\nvalidate = {root.group(1)}\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(code)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(f"_pycompose_schema_{digest}", path)
    if spec is None or spec.loader is None:
        raise OSError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compile_check(schema_text: str) -> Check:
    """A function telling whether a document satisfies the schema."""
    from fastjsonschema import JsonSchemaException

    try:
        validate: Callable[[Any], Any] = _generated_module(schema_text).validate
    except (OSError, SyntaxError):
        import fastjsonschema

        validate = fastjsonschema.compile(json.loads(schema_text))

    def check(doc: Any) -> bool:
        try:
            validate(doc)
        except JsonSchemaException:
            return False
        return True

    return check


def first_duplicate(items: list[Any]) -> int | None:
    """Index of the first item equal (as JSON) to an earlier one, if any."""
    seen: list[str] = []
    for index, item in enumerate(items):
        key = json.dumps(item, sort_keys=True, default=str) if isinstance(item, Mapping | list) else repr(item)
        if key in seen:
            return index
        seen.append(key)
    return None
