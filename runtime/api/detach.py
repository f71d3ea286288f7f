"""Detach keys: the byte sequence on an attach or exec stdin that ends the attach, not the container.

As dockerd: the keys are spelled `ctrl-p,ctrl-q` (the default), a key is one
character or `ctrl-` and a letter or one of `@[\\]^_`; the engine watches the
client's stdin, holds back bytes that may begin the sequence, lets them
through when the next byte breaks it, and on the whole sequence stops
relaying (what came before it still reaches the process).
"""

from __future__ import annotations

DEFAULT = "ctrl-p,ctrl-q"
_CTRL_SPECIAL = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def to_bytes(keys: str) -> bytes:
    """`ctrl-p,ctrl-q` -> b"\\x10\\x11"; ValueError names the key it cannot read."""
    out = bytearray()
    for key in keys.split(","):
        if len(key) == 1:
            out.append(ord(key) & 0xFF if ord(key) < 256 else _unknown(key))
        elif key.lower().startswith("ctrl-") and len(key) == 6:
            char = key[5].lower()
            if "a" <= char <= "z":
                out.append(ord(char) - ord("a") + 1)
            elif char in _CTRL_SPECIAL:
                out.append(_CTRL_SPECIAL[char])
            else:
                _unknown(key)
        else:
            _unknown(key)
    return bytes(out)


def _unknown(key: str) -> int:
    raise ValueError(f"Unknown character: '{key}'")


class DetachWatch:
    """Feeds stdin through; `detached` turns True once the sequence went by (nothing after it passes)."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.held = b""
        self.detached = False

    def feed(self, data: bytes) -> bytes:
        if not self.keys or self.detached:
            return b"" if self.detached else data
        out = bytearray()
        for byte in data:
            candidate = self.held + bytes([byte])
            if self.keys.startswith(candidate):
                self.held = candidate
                if candidate == self.keys:
                    self.detached = True
                    self.held = b""
                    return bytes(out)
                continue
            out += self.held  # the sequence broke: what was held goes through
            self.held = b""
            if self.keys.startswith(bytes([byte])):
                self.held = bytes([byte])
            else:
                out.append(byte)
        return bytes(out)
