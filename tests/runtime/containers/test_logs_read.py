"""Reading json-file logs: selection, tail, timestamps, framing, rotation and follow."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import anyio
import pytest

from runtime.containers.logs_read import Selection, follow, format_time_ns, history, parse_tail, parse_time_ns

T0 = parse_time_ns("2024-05-01T10:00:00Z")


def line(stream: str, text: str, offset_ms: int) -> str:
    stamp = format_time_ns(T0 + offset_ms * 1_000_000).replace(".000000000Z", "Z")
    return json.dumps({"log": text, "stream": stream, "time": stamp}) + "\n"


def frames(data: bytes) -> list[tuple[int, bytes]]:
    out = []
    while data:
        stream, size = struct.unpack(">BxxxI", data[:8])
        out.append((stream, data[8 : 8 + size]))
        data = data[8 + size :]
    return out


def write_log(tmp_path: Path) -> Path:
    path = tmp_path / "c-json.log"
    path.with_name(path.name + ".1").write_text(line("stdout", "old\n", 0))
    path.write_text(line("stdout", "one\n", 1000) + line("stderr", "two\n", 2000) + line("stdout", "three\n", 3000)
                    + '{"log":"torn')
    return path


def test_times() -> None:
    assert parse_time_ns("2024-05-01T10:00:00.5Z") == T0 + 500_000_000
    assert parse_time_ns("2024-05-01T12:00:00.000000001+02:00") == T0 + 1
    assert format_time_ns(T0 + 1) == "2024-05-01T10:00:00.000000001Z"
    assert parse_tail("all") is None and parse_tail("3") == 3 and parse_tail("x") is None


def test_history_selection(tmp_path: Path) -> None:
    path = write_log(tmp_path)
    everything = frames(b"".join(history(path, Selection(), tty=False)))
    assert everything == [(1, b"old\n"), (1, b"one\n"), (2, b"two\n"), (1, b"three\n")]
    assert b"".join(history(path, Selection(stderr=False, tail=2), tty=True)) == b"one\nthree\n"
    since = Selection(since_ns=T0 + 1500 * 1_000_000, until_ns=T0 + 2500 * 1_000_000)
    assert frames(b"".join(history(path, since, tty=False))) == [(2, b"two\n")]
    stamped = b"".join(history(path, Selection(timestamps=True, tail=1), tty=True))
    assert stamped == b"2024-05-01T10:00:03.000000000Z three\n"


@pytest.mark.anyio
async def test_follow_until_the_container_stops(tmp_path: Path) -> None:
    path = write_log(tmp_path)
    path.write_text(line("stdout", "one\n", 1000))
    running = True
    got: list[bytes] = []

    async def reader() -> None:
        async for chunk in follow(path, Selection(tail=1), True, lambda: (not running, None)):
            got.append(chunk)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(reader)
        await anyio.sleep(0.2)
        with open(path, "a") as f:
            f.write(line("stdout", "two\n", 2000))
        await anyio.sleep(0.3)
        running = False
    assert got == [b"one\n", b"two\n"]


@pytest.mark.anyio
async def test_follow_ends_with_its_run_and_leaves_the_next_runs_lines_out(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    path.write_text(line("stdout", "old\n", 1000))
    restarted = False
    got: list[bytes] = []

    async def reader() -> None:
        # A restart came between two polls: the lines from its start on belong to the next follow.
        run_end = lambda: (True, T0 + 3000 * 1_000_000) if restarted else (False, None)  # noqa: E731
        async for chunk in follow(path, Selection(), True, run_end):
            got.append(chunk)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(reader)
        await anyio.sleep(0.2)
        with open(path, "a") as f:
            f.write(line("stdout", "last\n", 2000) + line("stdout", "new run\n", 3000))
        restarted = True
    assert got == [b"old\n", b"last\n"]
