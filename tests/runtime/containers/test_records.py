"""Container records: atomic persistence, Docker's name rules and lookups."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime.containers.records import Record, Records, State, new_id, normalize_name
from runtime.errors import EngineError


def record(cid: str, name: str) -> Record:
    spec = {"bundle": f"/b/{cid}", "rootfs": {"upperdir": "/u"}}
    return Record(cid, name, "2024-01-01T00:00:00.000000000Z", "sha256:" + "a" * 64, "busybox",
                  {"Labels": {"k": "v"}}, {}, spec)


def test_round_trip_and_lookups(tmp_path: Path) -> None:
    records = Records(tmp_path)
    first = record("abc" + "0" * 61, "web")
    second = record("abd" + "0" * 61, "db")
    first.state = State("running", pid=42, started_at="2024-01-01T00:00:01Z")
    records.add(first)
    records.add(second)
    assert json.loads((tmp_path / first.id / "config.json").read_text())["name"] == "web"
    again = Records(tmp_path)
    assert again.load() == []
    loaded = again.get("web")
    assert loaded == first and loaded.state.running and loaded.labels == {"k": "v"}
    assert again.get("/db").id == second.id
    assert again.get("abc").id == first.id
    with pytest.raises(EngineError) as ambiguous:
        again.get("ab")
    assert (ambiguous.value.status, ambiguous.value.message) == (400, "multiple IDs found with provided prefix: ab")
    with pytest.raises(EngineError) as missing:
        again.get("zzz")
    assert (missing.value.status, missing.value.message) == (404, "No such container: zzz")


def test_names(tmp_path: Path) -> None:
    records = Records(tmp_path)
    records.add(record("a" * 64, "web"))
    with pytest.raises(EngineError) as clash:
        records.add(record("b" * 64, "web"))
    assert clash.value.status == 409 and clash.value.message.startswith('Conflict. The container name "/web"')
    records.rename(records.get("web"), "front")
    assert records.find("web") is None and records.get("front").id == "a" * 64
    assert normalize_name("/ok_name.1-x") == "ok_name.1-x"
    for bad in ("x", "-lead", "sp ace", "a/b"):
        with pytest.raises(EngineError):
            normalize_name(bad)
    generated = records.generate_name()
    adjective, _, surname = generated.partition("_")
    assert adjective.isalpha() and surname and records.find(generated) is None
    assert not new_id(set())[:12].isdigit()


def test_forget_and_crash_leftovers(tmp_path: Path) -> None:
    records = Records(tmp_path)
    doomed = record("c" * 64, "gone")
    records.add(doomed)
    (tmp_path / doomed.id / "upper").mkdir()
    trash = records.forget(doomed)
    assert trash is not None and trash.exists() and not (tmp_path / doomed.id).exists()
    (tmp_path / ("d" * 64)).mkdir()  # a create that died before its first write
    (tmp_path / ("e" * 64)).mkdir()
    (tmp_path / ("e" * 64) / "config.json").write_text("{broken")
    again = Records(tmp_path)
    problems = again.load()
    assert len(problems) == 1 and "e" * 64 in problems[0]
    assert not trash.exists() and not (tmp_path / ("d" * 64)).exists() and len(again) == 0
