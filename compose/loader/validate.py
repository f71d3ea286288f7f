"""Validate one compose file against `schemas/compose.schema.json`.

The schema stage runs on a single file after interpolation. Of all schema
violations it reports one — the first in the file, so fixing errors top to
bottom works — as a `ComposeFileError` with the position of the offending key
or value and a short message ("unknown key 'imgae' (did you mean 'image'?)").

The verdict comes from fastjsonschema's generated code (`schema_check`,
milliseconds for hundreds of services); jsonschema is imported and run only on
invalid files, to say what is wrong and where.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from typing import Any

from compose.errors import ComposeFileError, Mark, format_path
from compose.loader.marks import RESET, MDict, MList, mark_at
from compose.loader.schema_check import Check, compile_check, first_duplicate

# What a JSON type is called in a message.
_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
}

# Maps of user-chosen names, by the key that holds them: what one name names.
_NAME_KINDS = {
    "services": "service",
    "networks": "network",
    "volumes": "volume",
    "secrets": "secret",
    "configs": "config",
    "models": "model",
    "depends_on": "service",
    "ulimits": "ulimit",
}

_EXTENSION_PATTERN = "^x-"
# What an unknown key must look like to be quoted in a message (a typo of a name, not a line of some file
# such as `root:$6$...:` or `TOKEN=...`).
_KEY_LIKE = re.compile(r"""^[^:=$'"\\]{1,64}$""")


def suggest(name: str, choices: Iterable[str]) -> str | None:
    """The choice `name` was most likely meant to be, if any is close enough."""
    options = [c for c in choices if isinstance(c, str)]
    for option in options:  # a case slip is the likeliest typo of all
        if option.lower() == name.lower():
            return option
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return close[0] if close else None


def validate(doc: Any, file: str) -> None:
    """Raise ComposeFileError for the first schema violation in `doc`."""
    if not isinstance(doc, Mapping):
        detail = " (the file is empty)" if doc is None else ""
        raise ComposeFileError(
            f"top-level object must be a mapping{detail}", mark_at(doc, ()) or Mark(file, 1, 1)
        )
    if _checker()(doc):
        return
    # Compose drops `key: !reset ...` entries before validating (the value only
    # says "remove this"). Stripping costs a walk, so only failing files pay it;
    # the one thing this misses, a `!reset` on a required key, no one writes.
    doc = _without_resets(doc)
    if _checker()(doc):
        return
    errors = list(_validator().iter_errors(doc))
    if errors:  # none would mean the fast checker is wrong; jsonschema has the last word
        raise _pick(errors, doc, file)


def _without_resets(node: Any) -> Any:
    # Loops, not generator expressions: one frame per level of nesting (see yaml_limits.MAX_DEPTH).
    if isinstance(node, dict):
        items = []
        for key, value in node.items():
            if not (isinstance(node, MDict) and node.tags.get(key) == RESET):
                items.append((key, _without_resets(value)))
        return node.derive(items) if isinstance(node, MDict) else dict(items)
    if isinstance(node, list):
        values = []
        for value in node:
            values.append(_without_resets(value))
        return node.derive(values) if isinstance(node, MList) else values
    return node


@functools.cache
def _schema_text() -> str:
    return (resources.files("schemas") / "compose.schema.json").read_text(encoding="utf-8")


@functools.cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema


@functools.cache
def _checker() -> Check:
    return compile_check(_schema_text())


@functools.cache
def _validator() -> Any:
    # jsonschema costs ~90 ms to import: only invalid files pay for it.
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_schema())


def _pick(errors: list[Any], doc: Any, file: str) -> ComposeFileError:
    from jsonschema.exceptions import best_match

    refined = [best_match([e]) for e in errors]
    # A mapping with a misspelt required key fails twice ("unknown key" and
    # "missing key"); the misspelling is what the user needs to hear about.
    misspelt = {tuple(e.absolute_path) for e in refined if e.validator == "additionalProperties"}
    kept = [e for e in refined if e.validator != "required" or tuple(e.absolute_path) not in misspelt]
    reports = [_report(e, doc, file) for e in kept]
    reports.sort(key=lambda r: (r.mark.line, r.mark.col) if r.mark else (0, 0))
    return reports[0]


def _report(error: Any, doc: Any, file: str) -> ComposeFileError:
    path = list(error.absolute_path)
    where = path
    kind = error.validator
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    instance = error.instance
    if kind == "additionalProperties":
        key = _first_extra_key(instance, schema, doc, path, file)
        where = [*path, key]
        message = _unknown_key(key, schema, path)
    elif kind == "type":
        message = f"must be {_either(_type_names(error.validator_value))}"
    elif kind == "enum":
        message = "must be one of " + ", ".join(repr(v) for v in error.validator_value)
        hint = suggest(instance, [str(v) for v in error.validator_value]) if isinstance(instance, str) else None
        if hint:
            message += f" (did you mean {hint!r}?)"
    elif kind == "const":
        message = f"must be {error.validator_value!r}"
    elif kind == "required":
        missing = next((k for k in error.validator_value if k not in instance), error.validator_value[0])
        message = f"missing required key {missing!r}"
    elif kind == "pattern":
        expected = schema.get("description") or f"a value matching {error.validator_value}"
        message = f"invalid value {instance!r}: expected {expected}"
    elif kind == "uniqueItems":
        index = first_duplicate(instance) or 0
        where = [*path, index]
        message = f"duplicate item {instance[index]!r}"
    elif kind in ("minimum", "exclusiveMinimum"):
        message = f"must be at least {error.validator_value}"
    elif kind in ("maximum", "exclusiveMaximum"):
        message = f"must be at most {error.validator_value}"
    elif kind in ("anyOf", "oneOf"):
        message = f"must be {_either([_describe(s) for s in error.validator_value])}"
    else:
        message = error.message
    return ComposeFileError(message, mark_at(doc, where) or Mark(file, 1, 1), format_path(path) or None)


def _first_extra_key(instance: Mapping[str, Any], schema: Mapping[str, Any], doc: Any,
                     path: list[Any], file: str) -> str:
    allowed = schema.get("properties", {})
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    extras = [k for k in instance if k not in allowed and not any(p.search(k) for p in patterns)]

    def position(key: str) -> tuple[int, int]:
        mark = mark_at(doc, [*path, key]) or Mark(file, 0, 0)
        return mark.line, mark.col

    return min(extras, key=position) if extras else next(iter(instance), "")


def _unknown_key(key: str, schema: Mapping[str, Any], path: Sequence[Any]) -> str:
    if not key:
        return "empty key is not allowed"
    if not (_KEY_LIKE.match(key) and key.isprintable()):
        # Not a name anyone meant as a key: more likely a file that is not a compose file at all (an
        # `include:` or `-f` of the wrong file), whose content must not end up in the message.
        if not path:
            return "not a compose file: its top-level keys are not compose keys (content not shown)"
        return "unknown key (not a valid key name; content not shown)"
    names = [p for p in schema.get("patternProperties", {}) if p != _EXTENSION_PATTERN]
    if names and not schema.get("properties"):
        holder = path[-1] if path and isinstance(path[-1], str) else ""
        what = _NAME_KINDS.get(holder)
        return f"invalid {what + ' name' if what else 'key'} {key!r} (must match {names[0]})"
    message = f"unknown key {key!r}"
    if key.startswith("x-"):
        return f"{message} (extension keys are not allowed here)"
    hint = suggest(key, schema.get("properties", {}))
    return f"{message} (did you mean {hint!r}?)" if hint else message


def _type_names(types: str | list[str]) -> list[str]:
    return [_TYPE_NAMES.get(t, t) for t in ([types] if isinstance(types, str) else types)]


def _describe(schema: Any) -> str:
    if isinstance(schema, Mapping):
        if "const" in schema:
            return repr(schema["const"])
        if "enum" in schema:
            return " or ".join(repr(v) for v in schema["enum"])
        if "type" in schema:
            return _either(_type_names(schema["type"]))
    return "valid"


def _either(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " or " + names[-1]
