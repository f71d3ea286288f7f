from __future__ import annotations

from pathlib import Path

import pytest

from compose.errors import ComposeFileError
from compose.loader.discovery import find_config_files, normalize_project_name, project_name


def _touch(path: Path, text: str = "services: {}\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_search_finds_file_in_parent_and_its_override(tmp_path: Path) -> None:
    base = _touch(tmp_path / "docker-compose.yml")
    override = _touch(tmp_path / "docker-compose.override.yaml")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    found = find_config_files(deep, [], None, {})
    assert found.files == (str(base), str(override))
    assert found.project_dir == tmp_path


def test_candidate_order_prefers_compose_yaml(tmp_path: Path) -> None:
    _touch(tmp_path / "docker-compose.yml")
    preferred = _touch(tmp_path / "compose.yaml")
    assert find_config_files(tmp_path, [], None, {}).files == (str(preferred),)


def test_first_override_only(tmp_path: Path) -> None:
    _touch(tmp_path / "compose.yaml")
    first = _touch(tmp_path / "compose.override.yml")
    _touch(tmp_path / "compose.override.yaml")
    assert find_config_files(tmp_path, [], None, {}).files[1:] == (str(first),)


def test_explicit_files_and_stdin(tmp_path: Path) -> None:
    a = _touch(tmp_path / "sub" / "a.yaml")
    found = find_config_files(tmp_path, ["sub/a.yaml", "-"], None, {})
    assert found.files == (str(a), "-")
    assert found.project_dir == tmp_path / "sub"


def test_compose_file_variable_with_separator(tmp_path: Path) -> None:
    a, b = _touch(tmp_path / "a.yaml"), _touch(tmp_path / "b.yaml")
    env = {"COMPOSE_FILE": "a.yaml;b.yaml", "COMPOSE_PATH_SEPARATOR": ";"}
    assert find_config_files(tmp_path, [], None, env).files == (str(a), str(b))


def test_explicit_file_wins_over_variable(tmp_path: Path) -> None:
    a = _touch(tmp_path / "a.yaml")
    _touch(tmp_path / "b.yaml")
    assert find_config_files(tmp_path, ["a.yaml"], None, {"COMPOSE_FILE": "b.yaml"}).files == (str(a),)


def test_project_directory_is_searched(tmp_path: Path) -> None:
    f = _touch(tmp_path / "proj" / "compose.yml")
    found = find_config_files(tmp_path, [], "proj", {})
    assert found.files == (str(f),) and found.project_dir == tmp_path / "proj"


def test_nothing_found(tmp_path: Path) -> None:
    with pytest.raises(ComposeFileError, match="no configuration file provided"):
        find_config_files(tmp_path, [], None, {})


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ComposeFileError, match="no such file"):
        find_config_files(tmp_path, ["nope.yaml"], None, {})


@pytest.mark.parametrize(("folder", "name"), [("My_App.Dir", "my_appdir"), ("__x-Y", "x-y"), ("web 2", "web2")])
def test_folder_names_are_normalized(folder: str, name: str) -> None:
    assert normalize_project_name(folder) == name


def test_name_precedence(tmp_path: Path) -> None:
    env = {"COMPOSE_PROJECT_NAME": "fromenv"}
    assert project_name("cli", env, "file", tmp_path) == "cli"
    assert project_name(None, env, "file", tmp_path) == "fromenv"
    assert project_name(None, {}, "file", tmp_path) == "file"
    assert project_name(None, {}, None, tmp_path / "Some.Dir") == "somedir"


@pytest.mark.parametrize("bad", ["Upper", "-lead", "has space", "dot.ted"])
def test_explicit_names_must_be_normalized(bad: str, tmp_path: Path) -> None:
    with pytest.raises(ComposeFileError, match="invalid project name"):
        project_name(bad, {}, None, tmp_path)
