"""The progress display: plain lines, JSON lines, the live frame, and which one `--progress` picks."""

from __future__ import annotations

import io
import json

from compose.progress import (
    JsonProgress,
    Line,
    PlainProgress,
    Progress,
    TtyProgress,
    frame,
    json_line,
    make_progress,
    plain_line,
    update,
)
from compose.scheduler import DONE, ERROR, WORKING, ProgressEvent


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_are_docker_composes() -> None:
    assert plain_line(ProgressEvent("Container p-web-1", "Started", DONE, 0.2)) == " Container p-web-1  Started"
    failed = ProgressEvent("Container p-db-1", "Error", ERROR, 1.0, "dependency failed to start")
    assert plain_line(failed) == " Container p-db-1  dependency failed to start"


def test_json_lines() -> None:
    assert json.loads(json_line(ProgressEvent("Network p_default", "Creating", WORKING))) == \
        {"id": "Network p_default", "status": "Creating"}
    failed = json.loads(json_line(ProgressEvent("Container p-db-1", "Error", ERROR, 0.5, "boom")))
    assert failed == {"id": "Container p-db-1", "status": "boom", "text": "Error", "elapsed": 0.5}


def test_frame_counts_done_lines_and_aligns_timers() -> None:
    lines: dict[str, Line] = {}
    update(lines, ProgressEvent("Network p_default", "Creating", WORKING), now=10.0)
    update(lines, ProgressEvent("Container p-web-1", "Creating", WORKING), now=10.0)
    update(lines, ProgressEvent("Network p_default", "Created", DONE, 0.1), now=10.1)
    rows = frame(list(lines.values()), now=10.5, width=60)
    assert rows[0] == ("[+] Running 1/2", "")
    network, web = rows[1], rows[2]
    assert network[0].startswith(" ✔ Network p_default Created") and network[0].endswith("0.1s")
    assert web[0].startswith(" ") and "Container p-web-1 Creating" in web[0] and web[0].endswith("0.5s")
    assert len(network[0]) == len(web[0]) == 59 and network[1] == "blue" and web[1] == ""
    update(lines, ProgressEvent("Container p-web-1", "Error", ERROR, 1.0, "no such image"), now=11.0)
    rows = frame(list(lines.values()), now=12.0, width=60)
    assert rows[2][0].startswith(" ✘ Container p-web-1 no such image") and rows[2][0].endswith("1.0s")
    assert rows[2][1] == "red"


def test_frame_elapsed_runs_from_the_first_event_of_a_resource() -> None:
    lines: dict[str, Line] = {}
    update(lines, ProgressEvent("Container p-web-1", "Creating", WORKING), now=1.0)
    update(lines, ProgressEvent("Container p-web-1", "Created", DONE, 0.2), now=1.2)
    update(lines, ProgressEvent("Container p-web-1", "Starting", WORKING), now=1.2)
    update(lines, ProgressEvent("Container p-web-1", "Started", DONE, 0.3), now=1.5)
    assert lines["Container p-web-1"].elapsed == 0.5
    update(lines, ProgressEvent("Container p-db-1", "Running", DONE, 0.0), now=2.0)
    assert lines["Container p-db-1"].elapsed == 0.0


def test_long_lines_are_cut_to_the_terminal() -> None:
    lines = {"x": Line("Container " + "x" * 100, "Started", DONE, 0.0, 1.0)}
    row = frame(list(lines.values()), now=1.0, width=40)[1][0]
    assert len(row) == 39 and "..." in row and row.endswith("1.0s")


def test_make_progress_picks_the_mode() -> None:
    pipe, tty = io.StringIO(), Terminal()
    assert type(make_progress("auto", pipe)) is PlainProgress
    assert isinstance(make_progress("auto", tty), TtyProgress)
    assert type(make_progress("auto", tty, ansi="never")) is PlainProgress
    assert isinstance(make_progress("json", tty), JsonProgress)
    assert type(make_progress("quiet", tty)) is Progress


def test_plain_and_quiet_output() -> None:
    out = io.StringIO()
    with make_progress("plain", out) as progress:
        progress.event(ProgressEvent("Container p-web-1", "Starting", WORKING))
        progress.note("done")
    assert out.getvalue() == " Container p-web-1  Starting\ndone\n"
    quiet = io.StringIO()
    with make_progress("quiet", quiet) as progress:
        progress.event(ProgressEvent("Container p-web-1", "Starting", WORKING))
    assert quiet.getvalue() == ""


def test_tty_display_draws_the_final_frame_and_then_the_notes() -> None:
    out = Terminal()
    with make_progress("tty", out) as progress:
        progress.event(ProgressEvent("Container p-web-1", "Starting", WORKING))
        progress.event(ProgressEvent("Container p-web-1", "Started", DONE, 0.1))
        progress.note("a note")
    text = out.getvalue()
    assert "[+] Running 1/1" in text and "✔ Container p-web-1 Started" in text
    assert text.rstrip().endswith("a note")
