"""Detach keys: Docker's spelling and the engine's watch over a stdin stream (pure)."""

from __future__ import annotations

import pytest

from compose.cli import detach_keys as client_keys
from runtime.api.detach import DEFAULT, DetachWatch, to_bytes


@pytest.mark.parametrize(("keys", "expected"), [
    (DEFAULT, b"\x10\x11"), ("ctrl-a,b", b"\x01b"),
    ("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", bytes([0, 27, 28, 29, 30, 31])),
    ("ctrl-X", b"\x18"), ("a,b,c", b"abc"),
])
def test_to_bytes(keys: str, expected: bytes) -> None:
    assert to_bytes(keys) == expected
    assert client_keys.to_bytes(keys) == expected  # the CLI reads them as the engine does


@pytest.mark.parametrize("keys", ["shift-a", "ctrl-zz", "ctrl-1", "", "ab", "ctrl-p,,ctrl-q"])
def test_bad_keys(keys: str) -> None:
    with pytest.raises(ValueError):
        to_bytes(keys)
    with pytest.raises(client_keys.BadDetachKeys):
        client_keys.to_bytes(keys)


def test_watch_passes_everything_before_the_sequence_and_nothing_after() -> None:
    watch = DetachWatch(b"\x10\x11")
    assert watch.feed(b"abc\x10") == b"abc"  # held: it may begin the sequence
    assert watch.feed(b"x") == b"\x10x"  # the sequence broke: what was held goes through
    assert watch.feed(b"\x10\x10") == b"\x10"
    assert not watch.detached
    assert watch.feed(b"\x11after") == b"" and watch.detached
    assert watch.feed(b"more") == b""


def test_watch_without_keys_passes_all() -> None:
    assert DetachWatch(b"").feed(b"\x10\x11") == b"\x10\x11"


def test_client_watch_sees_a_sequence_split_across_reads() -> None:
    watch = client_keys.Watch("ctrl-a,b")
    watch.feed(b"x\x01")
    assert not watch.seen
    watch.feed(b"b")
    assert watch.seen
    other = client_keys.Watch("")
    other.feed(b"\x10\x10\x11")
    assert other.seen
