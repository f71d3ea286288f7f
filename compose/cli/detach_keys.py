"""The detach keys of `container run -it`, `container exec -it` and `exec`: which, and seeing them go by.

As the docker CLI: `--detach-keys`, else `detachKeys` in the client's
config.json, else the engine's default (ctrl-p,ctrl-q). The engine does the
detaching (it watches the stdin it relays and ends the attach); the client
watches the same bytes only to know that the stream ended by a detach, so
that it leaves without waiting for the container.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DEFAULT = "ctrl-p,ctrl-q"
_CTRL_SPECIAL = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


class BadDetachKeys(ValueError):
    pass


def to_bytes(keys: str) -> bytes:
    """`ctrl-p,ctrl-q` -> b"\\x10\\x11" (the docker CLI's spelling); BadDetachKeys otherwise."""
    out = bytearray()
    for key in keys.split(","):
        char = key[5:].lower() if key.lower().startswith("ctrl-") else None
        if len(key) == 1 and ord(key) < 256:
            out.append(ord(key))
        elif char is not None and len(char) == 1 and "a" <= char <= "z":
            out.append(ord(char) - ord("a") + 1)
        elif char is not None and char in _CTRL_SPECIAL:
            out.append(_CTRL_SPECIAL[char])
        else:
            raise BadDetachKeys(f"invalid detach keys ({keys}): Unknown character: '{key}'")
    return bytes(out)


def chosen(flag: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The keys in force: the flag, else config.json's `detachKeys`, else "" (the engine's default)."""
    if flag:
        to_bytes(flag)
        return flag
    from compose.registry.config_file import config_dir, read_config

    configured = read_config(config_dir(os.environ if environ is None else environ)).get("detachKeys")
    return configured if isinstance(configured, str) else ""


class Watch:
    """Follows stdin; `seen` turns True once the whole sequence went by."""

    def __init__(self, keys: str) -> None:
        self.keys = to_bytes(keys or DEFAULT)
        self.matched = 0
        self.seen = False

    def feed(self, data: bytes) -> None:
        for byte in data:
            if self.seen:
                return
            if byte == self.keys[self.matched]:
                self.matched += 1
            else:
                self.matched = 1 if byte == self.keys[0] else 0
            self.seen = self.matched == len(self.keys)
