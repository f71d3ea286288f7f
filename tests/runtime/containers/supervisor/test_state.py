"""State files: atomic writes, damaged files skipped, process identity."""

from __future__ import annotations

import os
from pathlib import Path

from runtime.containers.supervisor import state


def test_save_load_remove(tmp_path: Path) -> None:
    record = state.ContainerRecord(id="a" * 64, spec={"id": "a" * 64}, pid=42, status="running", log_max_size=10)
    state.save(tmp_path, record)
    state.save(tmp_path, record)  # overwrite in place
    assert [p.name for p in tmp_path.iterdir()] == ["a" * 64 + ".json"]  # no temp file left
    assert state.load_all(tmp_path) == [record]
    state.remove(tmp_path, record.id)
    state.remove(tmp_path, record.id)
    assert state.load_all(tmp_path) == []


def test_damaged_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    good = state.ContainerRecord(id="b", spec={})
    state.save(tmp_path, good)
    assert state.load_all(tmp_path) == [good]


def test_unknown_fields_are_ignored() -> None:
    record = state.ContainerRecord.from_dict({"id": "c", "spec": {}, "from_the_future": 1})
    assert record.id == "c"


def test_public_view_hides_the_pid_of_an_exited_container() -> None:
    record = state.ContainerRecord(id="d", spec={}, pid=7, status="exited", exit_code=1)
    assert record.public()["pid"] == 0
    assert set(record.public()) == {"id", "status", "pid", "exit_code", "oom_killed", "started_at", "finished_at"}


def test_process_start_time_identifies_a_process() -> None:
    mine = state.process_start_time(os.getpid())
    assert isinstance(mine, int) and mine > 0
    assert state.process_start_time(os.getpid()) == mine
    assert state.process_start_time(2**22 + 12345) is None
