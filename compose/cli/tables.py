"""Docker's listing output: tables, `--format json`, `--format TEMPLATE`, units.

A listing is a list of rows (mappings of strings, the fields docker's
formatters expose: `.ID`, `.Repository`, `.RunningFor`…), a default table
template and the header of each field. The numbers and words (`1.98MB`,
`About a minute ago`, `2024-01-02 15:04:05 +0000 UTC`) follow docker's
go-units and Go's time formatting, so scripts that parse docker's output
parse ours.
"""

from __future__ import annotations

import json
import time
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from compose.cli import gotemplate

ELLIPSIS = "…"
_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
# Go's tabwriter as docker's formatters configure it: minwidth 10, padding 3.
MIN_WIDTH = 10
PADDING = 3


@dataclass(frozen=True)
class Listing:
    """How one kind of object is listed."""

    default: str  # the table template (`table {{.ID}}\t…`)
    headers: Mapping[str, str]  # field -> column header
    quiet: str = "{{.ID}}"


def human_size(size: float, precision: int = 3) -> str:
    """go-units HumanSizeWithPrecision: decimal units, `precision` significant digits."""
    unit = 0
    while size >= 1000.0 and unit < len(_UNITS) - 1:
        size /= 1000.0
        unit += 1
    return f"{size:.{precision}g}{_UNITS[unit]}"


def reclaimed_report(heading: str, deleted: Sequence[str], reclaimed: Any) -> str:
    """docker's prune report: the deleted objects under `heading` (when there are any), then the space freed."""
    lines = [heading, *deleted, ""] if deleted else []
    lines.append(f"Total reclaimed space: {human_size(int(reclaimed or 0), 4)}")
    return "\n".join(lines) + "\n"


def human_duration(seconds: float) -> str:
    """go-units HumanDuration."""
    secs = int(seconds)
    if secs < 1:
        return "Less than a second"
    if secs == 1:
        return "1 second"
    if secs < 60:
        return f"{secs} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def ago(timestamp: float, now: float | None = None) -> str:
    return human_duration((time.time() if now is None else now) - timestamp) + " ago"


def go_time(timestamp: float) -> str:
    """Go's time.Time.String() in the local zone: `2024-01-02 15:04:05 +0000 UTC`."""
    return datetime.fromtimestamp(int(timestamp)).astimezone().strftime("%Y-%m-%d %H:%M:%S %z %Z")


def rfc3339(timestamp: float) -> str:
    """Go's RFC 3339 form in the local zone (`Z` for UTC)."""
    text = datetime.fromtimestamp(int(timestamp)).astimezone().isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def short_id(image_or_container_id: str) -> str:
    """Docker's TruncateID: the first 12 hex digits, without `sha256:`."""
    return image_or_container_id.split(":", 1)[-1][:12]


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def ellipsis(text: str, width: int) -> str:
    """Docker's formatter.Ellipsis: cut to `width` columns, the last one an ellipsis."""
    if display_width(text) <= width:
        return text
    out, used = "", 0
    for char in text:
        w = display_width(char)
        if used + w > width - 1:
            break
        out, used = out + char, used + w
    return out + ELLIPSIS


def tabwrite(lines: Iterable[str]) -> str:
    """Align tab-separated cells as Go's tabwriter does (the last cell is not padded)."""
    rows = [line.split("\t") for line in lines]
    widths: list[int] = []
    for cells in rows:
        for i, cell in enumerate(cells[:-1]):
            width = max(display_width(cell) + PADDING, MIN_WIDTH)
            if i == len(widths):
                widths.append(width)
            else:
                widths[i] = max(widths[i], width)
    out = []
    for cells in rows:
        padded = [c + " " * (widths[i] - display_width(c)) for i, c in enumerate(cells[:-1])]
        out.append("".join(padded) + cells[-1])
    return "".join(line + "\n" for line in out)


def process_table(top: Mapping[str, Any]) -> str:
    """`GET /containers/{id}/top` as `docker top` prints it."""
    rows = [top.get("Titles") or [], *(top.get("Processes") or [])]
    return tabwrite("\t".join(str(cell) for cell in row) for row in rows)


def render(rows: Sequence[Mapping[str, Any]], listing: Listing, fmt: str | None = None, quiet: bool = False) -> str:
    """The whole output of a listing command for `--format`/`-q`."""
    if quiet:
        return "".join(gotemplate.render(listing.quiet, row) + "\n" for row in rows)
    fmt = (fmt or "").strip()
    if fmt in ("", "table"):
        fmt = listing.default
    if fmt == "json":
        return "".join(gotemplate.go_json(dict(sorted(row.items())), escape_html=True) + "\n" for row in rows)
    fmt = gotemplate.unescape(fmt)
    if fmt.startswith("table"):
        template = fmt[len("table") :].strip()
        header = gotemplate.render(template, {**{f: f.upper() for f in gotemplate.fields(template)},
                                              **listing.headers})
        body = [gotemplate.render(template, row) for row in rows]
        return tabwrite([header, *(line for text in body for line in text.split("\n"))])
    return "".join(gotemplate.render(fmt, row) + "\n" for row in rows)


def render_inspect(items: Sequence[Any], fmt: str | None) -> str:
    """`docker … inspect`: a JSON array indented by 4, or one template line per item."""
    if fmt and fmt.strip() != "json":
        template = gotemplate.unescape(fmt)
        return "".join(gotemplate.render(template, item) + "\n" for item in items)
    return json.dumps(list(items), indent=4, ensure_ascii=False) + "\n"
