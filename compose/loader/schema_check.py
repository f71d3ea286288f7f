"""The fast yes/no schema check: fastjsonschema's generated code, cached.

fastjsonschema turns the schema into plain Python (16 ms for 500 services,
against 150-300 ms for jsonschema), but generating and compiling that code
costs ~0.5 s. The compiled code object is written once per schema version to
the user's cache and loaded from there (~1 ms). When the cache cannot be
written, the check is still built, just not kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import marshal
import os
import re
import sys
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


def _generated_code(schema_text: str) -> Any:
    """The validator's code object, from the cache or generated and cached."""
    import fastjsonschema

    key = f"{_LAYOUT}\n{fastjsonschema.VERSION}\n{sys.implementation.cache_tag}\n{schema_text}"
    path = _cache_dir() / f"compose_schema_{hashlib.sha256(key.encode()).hexdigest()[:20]}.bin"
    try:
        return marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        pass
    source = fastjsonschema.compile_to_code(json.loads(schema_text))
    # The root validator is the first function generated; give it a fixed name.
    root = re.search(r"^def (\w+)\(", source, re.MULTILINE)
    if root is None:
        raise SyntaxError("fastjsonschema generated no validator")
    code = compile(f"{source}\n\nvalidate = {root.group(1)}\n", str(path), "exec")
    # PYTHONDONTWRITEBYTECODE is set on these machines: keep the compiled form ourselves.
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(marshal.dumps(code))
        os.replace(tmp, path)
    return code


def compile_check(schema_text: str) -> Check:
    """A function telling whether a document satisfies the schema."""
    from fastjsonschema import JsonSchemaException

    namespace: dict[str, Any] = {}
    exec(_generated_code(schema_text), namespace)
    validate: Callable[[Any], Any] = namespace["validate"]

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
