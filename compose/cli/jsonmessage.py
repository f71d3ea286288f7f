"""The docker CLI's display of a pull or push stream (its `jsonmessage.DisplayJSONMessagesStream`).

Without a terminal: `id: status` lines, no byte counts. On a terminal:
one line per layer id, rewritten in place (cursor up, clear, write, cursor
down) as its status and bar change; a message without an id starts a new
block of lines, as docker's does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from compose.registry.messages import detail, plain_text, progress_string

CLEAR = "\x1b[2K"


class MessageDisplay:
    def __init__(self, out: IO[str], terminal: bool, width: int = 80) -> None:
        self.out, self.terminal, self.width = out, terminal, width
        self.ids: dict[str, int] = {}

    def show(self, message: Mapping[str, Any]) -> None:
        if not self.terminal:
            text = plain_text(message)
            if text:
                self.out.write(text)
                self.out.flush()
            return
        layer = str(message.get("id") or "")
        progressed = detail(message) is not None
        diff = 0
        if layer and progressed:
            if layer not in self.ids:
                self.ids[layer] = len(self.ids)
                self.out.write("\n")
            diff = len(self.ids) - self.ids[layer]
            self.out.write(f"\x1b[{diff}A")
        else:
            self.ids = {}
        self.out.write(self._line(message, layer, progressed))
        if layer and diff:
            self.out.write(f"\x1b[{diff}B")
        self.out.flush()

    def _line(self, message: Mapping[str, Any], layer: str, progressed: bool) -> str:
        if "stream" in message:
            return str(message["stream"])
        head = f"{layer}: " if layer else ""
        status = str(message.get("status") or "")
        if progressed:
            numbers = detail(message) or (0, 0)
            return f"{CLEAR}\r{head}{status} {progress_string(*numbers, width=self.width)}\r"
        return f"{head}{status}\n"
