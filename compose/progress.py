"""Progress of a plan as Docker Compose shows it: a live display, plain lines, JSON lines or nothing.

`--progress tty` redraws one line per resource (spinner or mark, the
resource, its state, the time its step took) under `[+] Running N/M`; it is
drawn with `rich`, imported only then, since a terminal is the only place
it is needed. `plain` prints each event as one line (` Container p-web-1
Started`, Docker Compose's spacing), `json` one object per line (`id`,
`text`, `status`), `quiet` nothing. `auto` is tty on a terminal, plain
otherwise. The display's frame is a pure function of the lines and the
clock, so it is tested without a terminal.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from compose.registry.messages import human_size
from compose.scheduler import DONE, ERROR, WARNING, WORKING, ProgressEvent

if TYPE_CHECKING:
    from rich.console import Console

MODES = ("auto", "tty", "plain", "json", "quiet")
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SPIN_RATE = 10.0  # frames per second
MARKS = {DONE: "✔", ERROR: "✘", WARNING: "!"}
STYLES = {WORKING: "", DONE: "blue", ERROR: "red", WARNING: "yellow"}


@dataclass
class Line:
    """What the display shows for one resource."""

    resource: str
    status: str
    state: str
    started: float  # monotonic time of the first event
    elapsed: float | None = None  # frozen once the step ended
    parent: str = ""  # a pulled layer's service
    current: int = 0
    total: int = 0


def line_key(event: ProgressEvent) -> str:
    """Layers are lines of their own under each service (two services may share one)."""
    return f"{event.parent}\0{event.resource}" if event.parent else event.resource


def status_text(event: ProgressEvent) -> str:
    """An error shows its message where the status would be (as Docker Compose's)."""
    return event.detail if event.state == ERROR and event.detail else event.status


def plain_line(event: ProgressEvent) -> str:
    return f" {event.resource}  {status_text(event)}"


def json_line(event: ProgressEvent) -> str:
    message: dict[str, Any] = {"id": event.resource, "status": status_text(event)}
    if event.parent:
        message["parent_id"] = event.parent
    if event.total:
        message["current"], message["total"] = event.current, event.total
    if event.state == ERROR:
        message["text"] = "Error"
    if event.elapsed is not None:
        message["elapsed"] = round(event.elapsed, 3)
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def update(lines: dict[str, Line], event: ProgressEvent, now: float) -> None:
    """Fold one event into the display's lines (insertion order is display order)."""
    key = line_key(event)
    line = lines.get(key)
    if line is None:
        began = now - event.elapsed if event.state != WORKING and event.elapsed is not None else now
        line = lines[key] = Line(event.resource, event.status, event.state, began, parent=event.parent)
    line.status, line.state = status_text(event), event.state
    line.current, line.total = event.current, event.total
    # As Docker Compose: a resource's time runs from its first event (Creating) to its last.
    line.elapsed = None if event.state == WORKING else now - line.started


def ordered(lines: Sequence[Line]) -> list[Line]:
    """Each resource followed by its layers."""
    children: dict[str, list[Line]] = {}
    for line in lines:
        if line.parent:
            children.setdefault(line.parent, []).append(line)
    out = []
    for line in lines:
        if not line.parent:
            out += [line, *children.pop(line.resource, [])]
    return out + [child for rest in children.values() for child in rest]


def shown_status(line: Line) -> str:
    """A moving layer shows its bytes, as Docker Compose's: `Downloading  1.2MB / 3.4MB`."""
    if line.state == WORKING and line.total > 0:
        return f"{line.status} {human_size(line.current):>7} / {human_size(line.total)}"
    return line.status


def frame(lines: Sequence[Line], now: float, width: int, title: str = "Running") -> list[tuple[str, str]]:
    """The display as (text, style) rows: a title, then one row per resource (its layers indented)."""
    tops = [line for line in lines if not line.parent]
    done = sum(1 for line in tops if line.state == DONE)
    head = f"[+] {title} {done}/{len(tops)}"
    rows = [(head, "blue" if tops and done == len(tops) else "")]
    lines = ordered(lines)
    names = [("  " if line.parent else "") + line.resource for line in lines]
    texts = [shown_status(line) for line in lines]
    pad = max((len(name) + 1 + len(text) for name, text in zip(names, texts, strict=True)), default=0)
    spin = SPINNER[int(now * SPIN_RATE) % len(SPINNER)]
    for line, name, text in zip(lines, names, texts, strict=True):
        mark = MARKS.get(line.state, spin)
        elapsed = line.elapsed if line.elapsed is not None else now - line.started
        indent = "  " if line.parent else ""
        left = f" {indent}{mark} {line.resource} {text}{' ' * (pad - len(name) - 1 - len(text))}"
        timer = f"{elapsed:.1f}s"
        room = width - len(timer) - 1
        if len(left) >= room > 5:
            left = left[: room - 4] + "..."
        rows.append((f"{left}{' ' * max(room - len(left), 1)}{timer}", STYLES.get(line.state, "")))
    return rows


class Progress:
    """The interface (and the quiet mode): feed events, then close."""

    def event(self, event: ProgressEvent) -> None:
        pass

    def note(self, text: str) -> None:
        """A message printed after the display (or at once when there is none)."""

    def close(self) -> None:
        pass

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PlainProgress(Progress):
    def __init__(self, stream: TextIO, render: Callable[[ProgressEvent], str] = plain_line) -> None:
        self.stream = stream
        self.render = render
        self.layers: dict[str, str] = {}  # a layer's last status: its byte counts are not lines of their own

    def event(self, event: ProgressEvent) -> None:
        if event.parent:
            key = line_key(event)
            if self.layers.get(key) == event.status:
                return
            self.layers[key] = event.status
        self.stream.write(self.render(event) + "\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


class JsonProgress(PlainProgress):
    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream, json_line)

    def note(self, text: str) -> None:
        self.stream.write(json.dumps({"tail": True, "text": text}, ensure_ascii=False, separators=(",", ":")) + "\n")
        self.stream.flush()


class TtyProgress(Progress):
    """The live display, redrawn ten times a second by rich's refresh thread."""

    def __init__(self, stream: TextIO, color: bool = True, title: str = "Running") -> None:
        from rich.console import Console
        from rich.live import Live

        self.console: Console = Console(file=stream, force_terminal=True, no_color=not color, highlight=False,
                                        soft_wrap=False)
        self.title = title
        self.lines: dict[str, Line] = {}
        self.notes: list[str] = []
        self.lock = threading.Lock()
        self.live = Live(console=self.console, get_renderable=self._render, refresh_per_second=10,
                         transient=False, redirect_stdout=False, redirect_stderr=False)
        self.started = False
        self.closed = False

    def _render(self) -> Any:
        from rich.text import Text

        with self.lock:
            lines = [Line(**vars(line)) for line in self.lines.values()]
        text = Text()
        rows = frame(lines, time.monotonic(), self.console.width, self.title)
        for i, (row, style) in enumerate(rows):
            text.append(row, style=style or None)
            if i < len(rows) - 1:
                text.append("\n")
        return text

    def event(self, event: ProgressEvent) -> None:
        with self.lock:
            update(self.lines, event, time.monotonic())
        if not self.started:
            self.started = True
            self.live.start()

    def note(self, text: str) -> None:
        if self.started and not self.closed:
            self.notes.append(text)
        else:
            self.console.file.write(text + "\n")
            self.console.file.flush()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.started:
            self.live.stop()
        for text in self.notes:
            self.console.file.write(text + "\n")
        self.console.file.flush()


def use_tty(stream: TextIO) -> bool:
    return stream.isatty() and os.environ.get("TERM") != "dumb"


def make_progress(mode: str = "auto", stream: TextIO | None = None, ansi: str = "auto",
                  title: str = "Running") -> Progress:
    """The display for `--progress` (and `--ansi`), on stderr by default."""
    stream = stream or sys.stderr
    if mode == "auto":
        mode = "tty" if ansi != "never" and use_tty(stream) else "plain"
    if mode == "tty":
        return TtyProgress(stream, color=ansi != "never", title=title)
    if mode == "json":
        return JsonProgress(stream)
    if mode == "plain":
        return PlainProgress(stream)
    return Progress()
