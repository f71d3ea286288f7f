"""Progress messages as the docker CLI prints them and as Docker Compose shows them under a service."""

from __future__ import annotations

import io

from compose.cli.jsonmessage import MessageDisplay
from compose.progress import Line, PlainProgress, frame, update
from compose.registry.messages import human_size, layer_event, plain_text, progress_string
from compose.registry.transfer import pull_params, push_target
from compose.scheduler import DONE, WORKING, ProgressEvent

PULL = [
    {"status": "Pulling from library/busybox", "id": "latest"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "abc"},
    {"status": "Downloading", "progressDetail": {"current": 1200000, "total": 3400000}, "id": "abc"},
    {"status": "Download complete", "progressDetail": {}, "id": "abc"},
    {"status": "Pull complete", "progressDetail": {}, "id": "abc"},
    {"status": "Digest: sha256:" + "d" * 64},
    {"status": "Status: Downloaded newer image for busybox:latest"},
]


def test_plain_output_drops_byte_counts() -> None:
    out = "".join(t for m in PULL if (t := plain_text(m)))
    assert out == ("latest: Pulling from library/busybox\nabc: Pulling fs layer\nabc: Download complete\n"
                   "abc: Pull complete\nDigest: sha256:" + "d" * 64 + "\nStatus: Downloaded newer image for "
                   "busybox:latest\n")


def test_progress_string_is_dockers() -> None:
    assert human_size(1200000) == "1.2MB" and human_size(999) == "999B" and human_size(1234567) == "1.235MB"
    assert progress_string(1200000, 3400000) == "   1.2MB/3.4MB"
    wide = progress_string(1700000, 3400000, width=120)
    assert wide.startswith("[" + "=" * 25 + ">" + " " * 25 + "] ")
    assert progress_string(0, 0) == "" and progress_string(5000, 0) == "     5kB"


def test_terminal_display_rewrites_a_layers_line() -> None:
    out = io.StringIO()
    display = MessageDisplay(out, terminal=True, width=80)
    for message in PULL[:3]:
        display.show(message)
    text = out.getvalue()
    assert text.startswith("latest: Pulling from library/busybox\n\n\x1b[1A\x1b[2K\rabc: Pulling fs layer \r\x1b[1B")
    assert text.endswith("\x1b[1A\x1b[2K\rabc: Downloading    1.2MB/3.4MB\r\x1b[1B")


def test_layer_events_under_a_service() -> None:
    events = [e for m in PULL if (e := layer_event("web", m))]
    assert [(e.resource, e.status, e.state, e.parent) for e in events] == [
        ("abc", "Pulling fs layer", WORKING, "web"), ("abc", "Downloading", WORKING, "web"),
        ("abc", "Download complete", DONE, "web"), ("abc", "Pull complete", DONE, "web")]
    assert (events[1].current, events[1].total) == (1200000, 3400000)


def test_tty_frame_shows_layers_indented_with_bytes() -> None:
    lines: dict[str, Line] = {}
    update(lines, ProgressEvent("web", "Pulling", WORKING), 0.0)
    update(lines, ProgressEvent("db", "Pulling", WORKING), 0.0)
    update(lines, ProgressEvent("abc", "Downloading", WORKING, parent="web", current=1200000, total=3400000), 0.5)
    update(lines, ProgressEvent("abc", "Pull complete", DONE, 0.0, parent="db"), 0.6)
    update(lines, ProgressEvent("db", "Pulled", DONE, 1.0), 1.0)
    rows = [text for text, _ in frame(list(lines.values()), 1.0, 100, "Pulling")]
    assert rows[0] == "[+] Pulling 1/2"  # layers are not counted
    assert rows[1].startswith(" ⠙ web Pulling") or "web Pulling" in rows[1]
    assert rows[2].startswith("   ") and "abc Downloading   1.2MB / 3.4MB" in rows[2]
    assert "✔ db Pulled" in rows[3] and rows[4].startswith("   ✔ abc Pull complete")


def test_plain_progress_prints_a_layer_once_per_status() -> None:
    out = io.StringIO()
    plain = PlainProgress(out)
    plain.event(ProgressEvent("web", "Pulling", WORKING))
    for current in (1, 2, 3):
        plain.event(ProgressEvent("abc", "Downloading", WORKING, parent="web", current=current, total=3))
    plain.event(ProgressEvent("abc", "Pull complete", DONE, 0.0, parent="web"))
    plain.event(ProgressEvent("web", "Pulled", DONE, 1.0))
    assert out.getvalue() == " web  Pulling\n abc  Downloading\n abc  Pull complete\n web  Pulled\n"


def test_pull_and_push_parameters_as_the_docker_cli_sends_them() -> None:
    assert pull_params("busybox") == {"fromImage": "busybox", "tag": "latest", "platform": None}
    assert pull_params("localhost:5000/a/b:1", "linux/amd64") == {
        "fromImage": "localhost:5000/a/b", "tag": "1", "platform": "linux/amd64"}
    digest = "sha256:" + "e" * 64
    assert pull_params(f"localhost:5000/app@{digest}")["tag"] == digest
    assert pull_params("localhost:5000/app", all_tags=True)["tag"] is None
    assert push_target("localhost:5000/app") == ("localhost:5000/app", "latest")
    assert push_target("localhost:5000/app:2") == ("localhost:5000/app", "2")
    assert push_target("localhost:5000/app", all_tags=True) == ("localhost:5000/app", None)
