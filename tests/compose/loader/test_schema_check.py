"""The cached fastjsonschema check: generated once, reused, and right."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compose.loader.schema_check import compile_check, first_duplicate

SCHEMA = json.dumps({
    "type": "object",
    "properties": {"image": {"type": "string"}, "ports": {"type": "array", "uniqueItems": True}},
    "additionalProperties": False,
})


def test_generated_code_is_cached_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    check = compile_check(SCHEMA)
    cached = list((tmp_path / "pycompose").glob("compose_schema_*.bin"))
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    again = compile_check(SCHEMA)
    assert cached[0].stat().st_mtime_ns == stamp
    for c in (check, again):
        assert c({"image": "busybox", "ports": [1, 2]})
        assert not c({"imgae": "busybox"})
        assert not c({"ports": [1, 1]})
        assert not c({"image": True})


def test_unwritable_cache_falls_back_to_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert compile_check(SCHEMA)({"image": "x"})


def test_first_duplicate() -> None:
    assert first_duplicate(["a", "b", "a"]) == 2
    assert first_duplicate([1, True]) is None
    assert first_duplicate([{"a": 1}, {"a": 1}]) == 1
    assert first_duplicate([]) is None
