"""The local driver's format: protobuf LogEntry frames between two length words, as dockerd writes them."""

from __future__ import annotations

import gzip
from pathlib import Path

from runtime.containers import log_local
from runtime.containers.logs_read import Selection, history, log_files


def test_round_trip_and_partial_and_attrs() -> None:
    attrs = log_local.encode_attrs({"b": "2", "a": "1"})
    data = (log_local.encode("stdout", 1_700_000_000_123456789, b"hello\n", attrs)
            + log_local.encode("stderr", 5, b"piece") + log_local.encode("stdout", 6, b"\n"))
    entries, rest = log_local.split(data + data[:7])
    assert rest == data[:7]
    assert entries[0] == log_local.LocalEntry("stdout", 1_700_000_000_123456789, b"hello", False,
                                              (("a", "1"), ("b", "2")))
    assert entries[1] == log_local.LocalEntry("stderr", 5, b"piece", True)
    assert entries[2] == log_local.LocalEntry("stdout", 6, b"", False)
    size = int.from_bytes(data[:4], "big")
    assert data[4 + size:8 + size] == data[:4]  # the length again after the entry


def test_rotated_files_are_read_oldest_first(tmp_path: Path) -> None:
    path = log_local.local_path(tmp_path)
    path.parent.mkdir()
    for n, text in ((2, b"one\n"), (1, b"two\n")):
        path.with_name(f"container.log.{n}.gz").write_bytes(gzip.compress(log_local.encode("stdout", n, text)))
    path.with_name("container.log.1").write_bytes(log_local.encode("stdout", 1, b"two\n"))  # gzip not done yet
    path.write_bytes(log_local.encode("stdout", 3, b"three\n"))
    assert [p.name for p in log_files(path)] == ["container.log.2.gz", "container.log.1", "container.log"]
    assert history(path, Selection(), tty=True) == [b"one\n", b"two\n", b"three\n"]
