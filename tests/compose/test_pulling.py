"""What the compose commands read of an engine's image: its id and the time it was last tagged."""

from __future__ import annotations

from compose.plan.pull import LocalImage
from compose.pulling import local_image, parse_time


def test_times_of_the_engine_api() -> None:
    assert parse_time("0001-01-01T00:00:00Z") is None and parse_time("") is None and parse_time(None) is None
    assert parse_time("2026-12-06T08:00:00Z") == 1796544000.0
    assert parse_time("2026-12-06T08:00:00.123456789Z") == 1796544000.123456
    assert parse_time("2026-12-06T09:00:00+01:00") == 1796544000.0
    assert parse_time("yesterday") is None


def test_local_image() -> None:
    info = {"Id": "sha256:abc", "Metadata": {"LastTagTime": "2026-12-06T08:00:00Z"}}
    assert local_image(info) == LocalImage("sha256:abc", 1796544000.0)
    assert local_image({"Id": "sha256:abc"}) == LocalImage("sha256:abc", None)
