"""The engine's progress messages (`{"status","id","progressDetail"}`) as the docker CLI and Docker Compose show them.

Pure functions over one message. The docker CLI without a terminal prints
`id: status` and drops byte counts; on a terminal it adds docker's bar
(`[==>   ]  1.2MB/3.4MB`). Docker Compose turns each layer message into an
event under its service (`Downloading`, with bytes) and ignores messages
without an id or without `progressDetail`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compose.scheduler import DONE, WORKING, ProgressEvent

BAR = 50
WIDE = 110  # docker draws the bar only on terminals wider than this
_DONE = ("Download complete", "Already exists", "Pull complete", "Pushed", "Layer already exists", "Mounted from")
_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")


def human_size(size: float) -> str:
    """go-units HumanSize: decimal, four significant digits (`1.234MB`)."""
    unit = 0
    while size >= 1000.0 and unit < len(_UNITS) - 1:
        size /= 1000.0
        unit += 1
    return f"{size:.4g}{_UNITS[unit]}"


def detail(message: Mapping[str, Any]) -> tuple[int, int] | None:
    """(current, total) of a message's progressDetail, None when it has none."""
    value = message.get("progressDetail")
    if not isinstance(value, Mapping):
        return None
    return int(value.get("current") or 0), int(value.get("total") or 0)


def progress_string(current: int, total: int, width: int = 80) -> str:
    """docker's JSONProgress.String (without the time left)."""
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return f"{human_size(current):>8}"
    percent = min(int(current / total * 100) // 2, BAR)
    bar = f"[{'=' * percent}>{' ' * (BAR - percent)}] " if width > WIDE else ""
    numbers = f"{human_size(current):>8}" if current > total else f"{human_size(current):>8}/{human_size(total)}"
    return bar + numbers


def plain_text(message: Mapping[str, Any]) -> str | None:
    """One message as `docker pull` prints it without a terminal (None: not printed)."""
    if "stream" in message:
        return str(message["stream"])
    numbers = detail(message)
    if numbers and progress_string(*numbers):
        return None  # docker: no progress bars in a pipe
    if "status" not in message:
        return None
    head = f"{message['id']}: " if message.get("id") else ""
    return f"{head}{message['status']}\n"


def terminal_text(message: Mapping[str, Any], width: int) -> str:
    """One message's line on a terminal (no newline): `id: status [bar] numbers`."""
    head = f"{message['id']}: " if message.get("id") else ""
    numbers = detail(message)
    bar = progress_string(*numbers, width=width) if numbers else ""
    return f"{head}{message.get('status', '')}{' ' + bar if bar else ''}"


def layer_event(parent: str, message: Mapping[str, Any]) -> ProgressEvent | None:
    """Docker Compose's event for a layer message under `parent` (a service), None for the rest."""
    layer = message.get("id")
    numbers = detail(message)
    status = str(message.get("status") or "")
    if not layer or numbers is None or not status:
        return None
    state = DONE if status.startswith(_DONE) else WORKING
    current, total = numbers
    if state == DONE:
        current = total = 0
    return ProgressEvent(str(layer), status, state, None if state == WORKING else 0.0, parent=parent,
                         current=current, total=total)
