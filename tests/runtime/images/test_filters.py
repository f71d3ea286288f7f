"""Filter helpers and Docker JSON time formats."""

from __future__ import annotations

import pytest

from runtime.images import ImageInvalid
from runtime.images.docker_json import format_time, parse_time
from runtime.images.filters import glob_match, matching_refs, parse_bool, parse_until


def test_glob_is_go_path_match() -> None:
    assert glob_match("busy*", "busybox") and not glob_match("*", "a/b")
    assert glob_match("*/*", "a/b") and glob_match("b?sy[a-z]ox", "busybox") and glob_match("[^a]", "b")
    assert not glob_match("[^a]", "a") and not glob_match("[^a]", "/")


def test_matching_refs_by_ref_or_name() -> None:
    refs = ["busybox:latest", "example.com:5000/x/y:1", "busybox@sha256:" + "a" * 64]
    assert matching_refs(["busybox"], refs) == ["busybox:latest", refs[2]]
    assert matching_refs(["example.com:5000/x/*"], refs) == [refs[1]]
    assert matching_refs(["*:latest"], refs) == ["busybox:latest"]


def test_bool_and_until() -> None:
    assert parse_bool("dangling", ["true"]) is True and parse_bool("dangling", ["0"]) is False
    assert parse_bool("dangling", []) is None
    with pytest.raises(ImageInvalid):
        parse_bool("dangling", ["maybe"])
    assert parse_until("1h30m", 10_000.0) == 10_000.0 - 5400
    assert parse_until("1700000000", 0) == 1_700_000_000
    assert parse_until("2024-01-01", 0) == 1_704_067_200
    assert parse_until("2024-01-01T00:00:01Z", 0) == 1_704_067_201
    with pytest.raises(ImageInvalid):
        parse_until("yesterday", 0)


def test_times() -> None:
    assert parse_time("2024-01-01T00:00:00.123456789Z") == pytest.approx(1_704_067_200.123456)
    assert parse_time("2024-01-01T02:00:00+02:00") == 1_704_067_200
    assert parse_time("garbage") is None and parse_time("") is None
    assert format_time(1_704_067_200) == "2024-01-01T00:00:00Z"
    assert format_time(1_704_067_200.5) == "2024-01-01T00:00:00.5Z"
