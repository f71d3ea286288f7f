"""Docker's json-file format and rotation."""

from __future__ import annotations

import json
from pathlib import Path

from runtime.containers.supervisor.logs import PARTIAL_LIMIT, JsonFileLog, LineSplitter, entry, log_path

NS = 1_700_000_000_123_456_789


def lines(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_entry_is_dockers_shape() -> None:
    raw = entry("stdout", b"hi\n", NS)
    assert raw == b'{"log":"hi\\n","stream":"stdout","time":"2023-11-14T22:13:20.123456789Z"}\n'


def test_invalid_utf8_is_replaced_and_unicode_kept() -> None:
    assert json.loads(entry("stderr", "é\xff".encode("latin-1") + "ü".encode(), NS))["log"] == "\ufffd\ufffdü"


def test_splitter_cuts_lines_and_long_pieces() -> None:
    s = LineSplitter(limit=4)
    assert s.feed(b"ab") == []
    assert s.feed(b"c\nde") == [b"abc\n"]
    assert s.feed(b"fghij\nk") == [b"defg", b"hij\n"]
    assert s.flush() == [b"k"]
    assert s.flush() == []


def test_default_partial_limit_is_16k() -> None:
    assert LineSplitter().feed(b"x" * (PARTIAL_LIMIT + 1)) == [b"x" * PARTIAL_LIMIT]


def test_log_writes_lines_per_stream_and_flushes_tails(tmp_path: Path) -> None:
    path = log_path(tmp_path, "abc")
    log = JsonFileLog(path)
    log.write("stdout", b"one\ntw", NS)
    log.write("stderr", b"err\n", NS)
    log.write("stdout", b"o\nthree", NS)
    log.flush(NS)
    log.close()
    assert path.name == "abc-json.log"
    assert [(e["log"], e["stream"]) for e in lines(path)] == [
        ("one\n", "stdout"), ("err\n", "stderr"), ("two\n", "stdout"), ("three", "stdout")]


def test_rotation_keeps_max_file_files(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    log = JsonFileLog(path, max_size=200, max_file=3)
    for i in range(40):
        log.write("stdout", f"line {i}\n".encode(), NS)
    log.close()
    rotated = sorted(p.name for p in tmp_path.iterdir())
    assert rotated == ["c-json.log", "c-json.log.1", "c-json.log.2"]
    all_lines = [e["log"] for p in (path.with_name("c-json.log.2"), path.with_name("c-json.log.1"), path)
                 for e in lines(p)]
    assert all_lines == [f"line {i}\n" for i in range(40 - len(all_lines), 40)]  # oldest dropped, order kept
    assert path.with_name("c-json.log.1").stat().st_size >= 200


def test_max_file_1_truncates(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    log = JsonFileLog(path, max_size=100, max_file=1)
    for i in range(10):
        log.write("stdout", f"line {i}\n".encode(), NS)
    log.close()
    assert [p.name for p in tmp_path.iterdir()] == ["c-json.log"]
    assert lines(path)[-1]["log"] == "line 9\n"
    assert path.stat().st_size < 200


def test_reopen_appends_and_counts_the_existing_size(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    first = JsonFileLog(path, max_size=10_000)
    first.write("stdout", b"a\n", NS)
    first.close()
    second = JsonFileLog(path, max_size=10_000)
    assert second.size == path.stat().st_size
    second.write("stdout", b"b\n", NS)
    second.close()
    assert [e["log"] for e in lines(path)] == ["a\n", "b\n"]
