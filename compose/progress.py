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


def status_text(event: ProgressEvent) -> str:
    """An error shows its message where the status would be (as Docker Compose's)."""
    return event.detail if event.state == ERROR and event.detail else event.status


def plain_line(event: ProgressEvent) -> str:
    return f" {event.resource}  {status_text(event)}"


def json_line(event: ProgressEvent) -> str:
    message: dict[str, Any] = {"id": event.resource, "status": status_text(event)}
    if event.state == ERROR:
        message["text"] = "Error"
    if event.elapsed is not None:
        message["elapsed"] = round(event.elapsed, 3)
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def update(lines: dict[str, Line], event: ProgressEvent, now: float) -> None:
    """Fold one event into the display's lines (insertion order is display order)."""
    line = lines.get(event.resource)
    if line is None:
        began = now - event.elapsed if event.state != WORKING and event.elapsed is not None else now
        line = lines[event.resource] = Line(event.resource, event.status, event.state, began)
    line.status, line.state = status_text(event), event.state
    # As Docker Compose: a resource's time runs from its first event (Creating) to its last.
    line.elapsed = None if event.state == WORKING else now - line.started


def frame(lines: Sequence[Line], now: float, width: int, title: str = "Running") -> list[tuple[str, str]]:
    """The display as (text, style) rows: a title, then one row per resource."""
    done = sum(1 for line in lines if line.state == DONE)
    head = f"[+] {title} {done}/{len(lines)}"
    rows = [(head, "blue" if lines and done == len(lines) else "")]
    pad = max((len(line.resource) + 1 + len(line.status) for line in lines), default=0)
    spin = SPINNER[int(now * SPIN_RATE) % len(SPINNER)]
    for line in lines:
        mark = MARKS.get(line.state, spin)
        elapsed = line.elapsed if line.elapsed is not None else now - line.started
        left = f" {mark} {line.resource} {line.status}{' ' * (pad - len(line.resource) - 1 - len(line.status))}"
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

    def event(self, event: ProgressEvent) -> None:
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
