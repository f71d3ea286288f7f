"""`RUN --mount=type=...,target=...` values as RunMounts, checked as buildkit checks them.

At parse time a mount whose text holds `$` is only partly checked (buildkit expands mount
values at the build step): the builder calls `parse_mount(mount.raw, expand)` for those.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable

from runtime.dockerfile.errors import suggest
from runtime.dockerfile.instructions import RunMount

TYPES = ("bind", "cache", "tmpfs", "secret", "ssh")
SHARING = ("shared", "private", "locked")
KEYS = ("type", "from", "source", "target", "readonly", "id", "sharing", "required", "size", "mode", "uid", "gid",
        "src", "dst", "destination", "ro", "rw", "readwrite", "env")
_RAM = re.compile(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")
_GO_BOOL = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
            "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}


def ram_in_bytes(text: str) -> int:
    """docker/go-units RAMInBytes: `64m`, `1.5g`, `100` (binary multiples)."""
    match = _RAM.match(text)
    if match is None:
        raise ValueError(text)
    unit = (match.group(2) or "").lower()
    return int(float(match.group(1)) * 1024 ** ("kmgtp".index(unit) + 1 if unit else 0))


def _bool(key: str, value: str) -> bool:
    if value not in _GO_BOOL:
        raise ValueError(f"invalid value for {key}: {value}")
    return _GO_BOOL[value]


def _uint(value: str, base: int, what: str) -> int:
    try:
        number = int(value, base)
    except ValueError:
        number = -1
    if number < 0 or number > 0xFFFFFFFF or value.startswith(("+", "-")):
        raise ValueError(f"invalid value {value} for {what}")
    return number


def parse_mount(text: str, expand: Callable[[str], str] | None = None) -> RunMount:
    """One `--mount` value; `expand` None defers the values (only `from` is read), as at parse time."""
    try:
        fields = next(csv.reader([text], strict=True), [])
    except csv.Error as e:
        raise ValueError(f"failed to parse csv mounts: {e}") from None
    kind, read_only, ro_auto, sharing = "bind", False, True, ""
    values: dict[str, str] = {}
    ints: dict[str, int] = {}
    required = False
    for item in fields:
        key, has_value, value = item.partition("=")
        key = key.lower()
        if not has_value:
            if expand is None:
                continue
            if key in ("readonly", "ro", "readwrite", "rw"):
                read_only, ro_auto = key in ("readonly", "ro"), False
            elif key == "required" and kind in ("secret", "ssh"):
                required = True
            elif key == "required":
                raise ValueError(f"unexpected key '{key}' for mount type '{kind}'")
            else:
                raise ValueError(f"invalid field '{item}' must be a key=value pair")
            continue
        if expand is not None:
            value = expand(value)
        elif key == "from":
            at = value.find("$")
            if at != -1 and at != len(value) - 1:
                raise ValueError(f"'{key}' doesn't support variable expansion, define alias stage instead")
        else:
            continue
        if key == "type":
            if value.lower() not in TYPES:
                raise ValueError(f'unsupported mount type "{value}"{suggest(value, TYPES, case_sensitive=True)}')
            kind = value.lower()
        elif key in ("from", "id", "env"):
            values[key] = value
        elif key in ("source", "src"):
            values["source"] = value
        elif key in ("target", "dst", "destination"):
            values["target"] = value
        elif key in ("readonly", "ro"):
            read_only, ro_auto = _bool(key, value), False
        elif key in ("readwrite", "rw"):
            read_only, ro_auto = not _bool(key, value), False
        elif key == "required":
            if kind not in ("secret", "ssh"):
                raise ValueError(f"unexpected key '{key}' for mount type '{kind}'")
            required = _bool(key, value)
        elif key == "size":
            if kind != "tmpfs":
                raise ValueError(f"unexpected key '{key}' for mount type '{kind}'")
            try:
                ints["size"] = ram_in_bytes(value)
            except ValueError:
                raise ValueError(f"invalid value for {key}: {value}") from None
        elif key == "sharing":
            if value.lower() not in SHARING:
                raise ValueError(f'unsupported sharing value "{value}"{suggest(value, SHARING, case_sensitive=True)}')
            sharing = value.lower()
        elif key in ("mode", "uid", "gid"):
            ints[key] = _uint(value, 8 if key == "mode" else 10, key)
        else:
            raise ValueError(f"unexpected key '{key}' in '{item}'{suggest(key, KEYS, case_sensitive=True)}")
    if kind not in ("secret", "ssh", "cache"):
        for key in ("mode", "uid", "gid"):
            if key in ints:
                raise ValueError(f'{key} not allowed for "{kind}" type mounts')
    if ro_auto:
        read_only = kind not in ("cache", "tmpfs")
    if kind == "secret":
        if values.get("from"):
            raise ValueError("secret mount should not have a from")
        if sharing:
            raise ValueError("secret mount should not define sharing")
        if expand is not None and not (values.get("source") or values.get("target") or values.get("id")):
            raise ValueError("invalid secret mount. one of source, target required")
        if values.get("source") and values.get("id"):
            raise ValueError("both source and id can't be set")
    if sharing and kind != "cache":
        raise ValueError(f"invalid cache sharing set for {kind} mount")
    return RunMount(type=kind, target=values.get("target", ""), source=values.get("source", ""),
                    from_=values.get("from", ""), rw=not read_only, id=values.get("id", ""),
                    sharing=sharing or "shared", mode=ints.get("mode"), uid=ints.get("uid"), gid=ints.get("gid"),
                    size=ints.get("size"), required=required, env=values.get("env", ""), raw=text)
