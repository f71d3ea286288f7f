"""Log streams: frames to lines, prefixes and colours, and following a project's containers via events."""

from __future__ import annotations

import io
from typing import Any

import anyio
import pytest

from compose import labels as L
from compose.client.multiplex import Demultiplexer
from compose.logstream import (
    MULTIPLEXED,
    RAW,
    Decoder,
    Exit,
    Lines,
    LogOptions,
    LogPrinter,
    ProjectLogs,
    display_name,
)
from tests.compose.fake_client import FakeClient, FakeStream


def frame(kind: int, payload: bytes) -> bytes:
    return bytes([kind, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def test_frames_split_across_reads() -> None:
    data = frame(1, b"out\n") + frame(2, b"err\n")
    frames = Demultiplexer()
    assert frames.feed(data[:5]) == []
    assert frames.feed(data[5:14]) == [(1, b"out\n")]
    assert frames.feed(data[14:]) == [(2, b"err\n")]


def test_lines_per_stream_keep_partial_lines() -> None:
    lines = Lines()
    assert lines.feed(1, b"a\nb") == [b"a"]
    assert lines.feed(2, b"x\r\n") == [b"x"]
    assert lines.feed(1, b"c\n") == [b"bc"]
    assert lines.feed(1, b"tail") == []
    assert lines.flush() == [(1, b"tail")]


def test_decoder_raw_and_multiplexed() -> None:
    assert Decoder(False).feed(b"one\ntwo\n") == [(1, b"one"), (1, b"two")]
    assert Decoder(True).feed(frame(2, b"boom\n")) == [(2, b"boom")]


def test_display_name_drops_the_project() -> None:
    labels = {L.PROJECT: "p", L.SERVICE: "web"}
    assert display_name("p-web-1", labels) == "web-1"
    assert display_name("custom", labels) == "custom"
    assert display_name("p-web-run-0123456789ab", labels) == "web-run-0123456789ab"


def test_printer_pads_to_the_longest_name_and_colours_in_rainbow_order() -> None:
    out, err = io.BytesIO(), io.BytesIO()
    printer = LogPrinter(out, err, color=False)
    printer.register("web-1")
    printer.register("database-1")
    printer.line("web-1", b"hello")
    printer.line("database-1", b"oops", 2)
    printer.status("web-1", "exited with code 0")
    assert out.getvalue() == b"web-1       | hello\nweb-1 exited with code 0\n"
    assert err.getvalue() == b"database-1  | oops\n"
    coloured = io.BytesIO()
    printer = LogPrinter(coloured, color=True)
    printer.line("a-1", b"x")
    printer.line("b-1", b"y")
    assert coloured.getvalue() == b"\x1b[36ma-1  | \x1b[0mx\n\x1b[33mb-1  | \x1b[0my\n"
    bare = io.BytesIO()
    LogPrinter(bare, color=True, prefix=False).line("a-1", b"x")
    assert bare.getvalue() == b"x\n"


def summary(cid: str, service: str, number: int = 1, state: str = "running") -> dict[str, Any]:
    return {"Id": cid, "Names": [f"/p-{service}-{number}"], "State": state,
            "Labels": {L.PROJECT: "p", L.SERVICE: service, L.NUMBER: str(number), L.ONEOFF: "False"}}


def event(action: str, cid: str, service: str, when: float, **attrs: str) -> dict[str, Any]:
    attributes = {"name": f"p-{service}-1", L.PROJECT: "p", L.SERVICE: service, L.NUMBER: "1", L.ONEOFF: "False",
                  **attrs}
    return {"Type": "container", "Action": action, "timeNano": int(when * 1e9),
            "Actor": {"ID": cid, "Attributes": attributes}}


pytestmark = pytest.mark.anyio


async def test_show_prints_every_containers_logs_with_prefixes() -> None:
    client = FakeClient()
    client.on("GET", "/containers/json", [summary("w", "web"), summary("d", "db", state="exited")])
    client.on("GET", "/containers/w/logs", frame(1, b"web says\n"), {"Content-Type": MULTIPLEXED})
    client.on("GET", "/containers/d/logs", b"db says\n", {"Content-Type": RAW})
    out = io.BytesIO()
    logs = ProjectLogs(client, "p", LogPrinter(out, color=False), LogOptions(tail="5"))  # type: ignore[arg-type]
    await logs.show()
    assert sorted(out.getvalue().splitlines()) == [b"db-1   | db says", b"web-1  | web says"]
    params = next(c.params for c in client.calls if c.path == "/containers/w/logs")
    assert params["tail"] == "5" and params["follow"] is False


async def test_follow_reports_an_exit_once_the_output_is_printed() -> None:
    client = FakeClient()
    events, web_logs = FakeStream(), FakeStream()
    client.on("GET", "/events", events)
    client.on("GET", "/containers/w/logs", web_logs, {"Content-Type": MULTIPLEXED})
    client.on("GET", "/containers/w/json", {"State": {"Status": "exited", "Restarting": False}})
    out, exits = io.BytesIO(), []
    logs = ProjectLogs(client, "p", LogPrinter(out, color=False), LogOptions(follow=True),  # type: ignore[arg-type]
                       on_exit=exits.append)
    subscription = await logs.subscribe()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(logs.follow, subscription, [summary("w", "web")])
            web_logs.push(frame(1, b"first\n"))
            events.push(event("die", "w", "web", 100.0, exitCode="3"))
            await anyio.sleep(0.05)
            assert exits == []  # its stream is still open: more output may come
            web_logs.push(frame(1, b"last\n"))
            web_logs.end()
    assert out.getvalue() == b"web-1  | first\nweb-1  | last\nweb-1 exited with code 3\n"
    assert exits == [Exit("w", "web-1", "web", 3)]


async def test_follow_picks_up_new_containers_and_restarts() -> None:
    client = FakeClient()
    events = FakeStream()
    streams = {"w": [FakeStream(), FakeStream()], "n": [FakeStream()]}
    requests: list[tuple[str, Any]] = []

    def logs_of(cid: str) -> Any:
        def answer(params: dict[str, Any], body: Any) -> Any:
            requests.append((cid, params.get("since")))
            return streams[cid].pop(0)
        return answer

    client.on("GET", "/events", events)
    client.on("GET", "/containers/w/logs", logs_of("w"), {"Content-Type": RAW})
    client.on("GET", "/containers/n/logs", logs_of("n"), {"Content-Type": RAW})
    client.on("GET", "/containers/w/json", {"State": {"Status": "exited"}})
    client.on("GET", "/containers/n/json", {"State": {"Status": "exited"}})
    out, exits = io.BytesIO(), []
    logs = ProjectLogs(client, "p", LogPrinter(out, color=False), LogOptions(follow=True),  # type: ignore[arg-type]
                       on_exit=exits.append)
    subscription = await logs.subscribe()
    first_w, second_w, only_n = streams["w"][0], streams["w"][1], streams["n"][0]
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(logs.follow, subscription, [summary("w", "web")])
            await anyio.sleep(0.02)
            first_w.push(b"run one\n")
            first_w.end()  # the container stopped...
            await anyio.sleep(0.02)
            events.push(event("start", "w", "web", 4e9))  # ...and was started again
            events.push(event("start", "n", "new", 4e9))  # a container that did not exist before
            await anyio.sleep(0.05)
            second_w.push(b"run two\n")
            only_n.push(b"newcomer\n")
            second_w.end()
            only_n.end()
            events.push(event("die", "w", "web", 4e9 + 1, exitCode="0"))
            events.push(event("die", "n", "new", 4e9 + 1, exitCode="1"))
    text = out.getvalue().decode()
    assert "web-1  | run one" in text and "web-1  | run two" in text and "new-1  | newcomer" in text
    assert [(cid, since is not None) for cid, since in requests] == [("w", False), ("w", True), ("n", True)]
    assert {(e.name, e.code) for e in exits} == {("web-1", 0), ("new-1", 1)}


async def test_follow_ends_at_once_when_nothing_runs() -> None:
    client = FakeClient()
    client.on("GET", "/events", FakeStream())
    client.on("GET", "/containers/d/logs", b"old\n", {"Content-Type": RAW})
    out = io.BytesIO()
    logs = ProjectLogs(client, "p", LogPrinter(out, color=False), LogOptions(follow=True))  # type: ignore[arg-type]
    with anyio.fail_after(5):
        await logs.follow(await logs.subscribe(), [summary("d", "db", state="exited")])
    assert out.getvalue() == b"db-1  | old\n"
