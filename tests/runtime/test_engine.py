"""The engine's state root and id."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.engine import Engine, EngineStateError, read_or_create_id


def test_id_is_created_once_and_kept(tmp_path: Path) -> None:
    first = Engine.open(tmp_path / "root")
    again = Engine.open(tmp_path / "root")
    assert first.id == again.id and len(first.id) == 4
    assert first.prefix == "pyc" + first.id and len(first.prefix) == 7
    assert (tmp_path / "root" / "engine-id").read_text() == first.id + "\n"
    assert [p.name for p in (tmp_path / "root").iterdir()] == ["engine-id"]


def test_engines_get_different_ids(tmp_path: Path) -> None:
    ids = {Engine.open(tmp_path / str(i)).id for i in range(20)}
    assert len(ids) > 15


def test_foreign_id_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "engine-id").write_text("not an id\n")
    with pytest.raises(EngineStateError, match="not an engine id"):
        read_or_create_id(tmp_path / "engine-id")


def test_unusable_root_is_a_state_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(EngineStateError, match="cannot use state root"):
        Engine.open(tmp_path / "file" / "root")


def test_image_store_opens_lazily_under_images(tmp_path: Path) -> None:
    engine = Engine.open(tmp_path)
    assert not (tmp_path / "images").exists()
    assert engine.images is engine.images
    assert (tmp_path / "images").is_dir()
    engine.close()
