"""develop.watch rules, pure: reading them, matching changed paths (ignore, include), batching into actions."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.copying import ContainerPath, parse_location
from compose.errors import ComposeError
from compose.loader.project import LoadOptions, load_project
from compose.model import Project
from compose.pytest_reap import SESSION, SUITE, leaked_projects, session_id
from compose.watch import Rule, actions, initial, match, rules


def project(tmp_path: Path, watch: str) -> Project:
    (tmp_path / "compose.yaml").write_text(f"services:\n  app:\n    image: busybox\n    develop:\n{watch}")
    return load_project(LoadOptions(working_dir=tmp_path, files=(), project_name="w", project_directory=None,
                                    profiles=(), environ={})).project


def test_rules_are_read_with_paths_resolved(tmp_path: Path) -> None:
    loaded = project(tmp_path, """      watch:
        - {action: sync, path: ./src, target: /app, ignore: [node_modules/], initial_sync: true}
        - {action: sync+exec, path: ./conf, target: /etc/app, exec: {command: [kill, -HUP, "1"]}}
        - {action: restart, path: ./restart.txt}
""")
    got = rules(loaded)
    assert [r.action for r in got] == ["sync", "sync+exec", "restart"]
    assert got[0].path == (tmp_path / "src").resolve() and got[0].initial_sync and got[0].ignore == ("node_modules/",)
    assert got[1].exec_command == ("kill", "-HUP", "1")


def test_rebuild_without_build_and_missing_rules_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ComposeError, match="service app: a rebuild rule needs a build section"):
        rules(project(tmp_path, "      watch:\n        - {action: rebuild, path: .}\n"))
    (tmp_path / "compose.yaml").write_text("services:\n  app: {image: busybox}\n")
    plain = load_project(LoadOptions(working_dir=tmp_path, files=(), project_name="w", project_directory=None,
                                     profiles=(), environ={})).project
    with pytest.raises(ComposeError, match="consider setting a 'develop' section"):
        rules(plain)


def test_match_with_ignore_and_include(tmp_path: Path) -> None:
    rule = Rule("app", "sync", tmp_path, "/app", ignore=("*.tmp", "cache/"), include=())
    assert match(rule, tmp_path / "a" / "b.txt") == "a/b.txt"
    assert match(rule, tmp_path / "x.tmp") is None
    assert match(rule, tmp_path / "cache" / "deep" / "f") is None
    assert match(rule, tmp_path / ".git" / "HEAD") is None  # always ignored
    assert match(rule, tmp_path / "f.swp") is None
    assert match(rule, tmp_path.parent / "outside") is None
    only_py = Rule("app", "sync", tmp_path, "/app", include=("*.py",))
    assert match(only_py, tmp_path / "m.py") == "m.py" and match(only_py, tmp_path / "m.txt") is None


def test_actions_copy_what_exists_and_delete_what_is_gone(tmp_path: Path) -> None:
    (tmp_path / "here.txt").write_text("x")
    sync = Rule("app", "sync", tmp_path, "/app")
    restart = Rule("app", "restart", tmp_path / "here.txt", None)
    batch = actions([sync, restart], [tmp_path / "here.txt", tmp_path / "gone.txt", tmp_path / "here.txt"])
    assert batch[0].copies == ((tmp_path / "here.txt", "/app/here.txt"),) and batch[0].deletes == ("/app/gone.txt",)
    assert batch[1].rule is restart and batch[1].copies == ()
    assert actions([sync], [tmp_path.parent / "elsewhere"]) == []
    assert initial([Rule("app", "sync", tmp_path, "/app", initial_sync=True)])[0].copies == ((tmp_path, "/app"),)


def test_cp_locations() -> None:
    assert parse_location("web:/etc/hosts") == ContainerPath("web", "/etc/hosts")
    assert parse_location("web:") == ContainerPath("web", "/")
    assert parse_location("./a:b") is None and parse_location("/abs/path") is None and parse_location("x") is None


def test_leaked_projects_spare_live_sessions() -> None:
    me, dead = session_id(), "999999999-1"
    containers = [
        {"Labels": {SUITE: "s", SESSION: dead, "com.docker.compose.project": "old"}},
        {"Labels": {SUITE: "s", SESSION: me, "com.docker.compose.project": "mine"}},
        {"Labels": {SUITE: "s", SESSION: session_id(1), "com.docker.compose.project": "live"}},  # pid 1 runs
        {"Labels": {SUITE: "other", SESSION: dead, "com.docker.compose.project": "theirs"}},
    ]
    assert leaked_projects(containers, "s", me) == ["old"]
