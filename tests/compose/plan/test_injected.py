"""Secrets and configs: which are bound, which are copied in, where, with which mode and owner."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.errors import ComposeError
from compose.loader.project import LoadOptions, load_project
from compose.model import Project
from compose.plan import Kind, Ref, UpOptions, plan_up
from compose.plan.injected import bind_mounts, copied_files
from tests.compose.plan.fixtures import state, summary

APP = """
services:
  app:
    image: busybox
    secrets:
      - token
      - {source: password, target: db_password, uid: "1000", gid: "1001", mode: 0o400}
      - {source: token, target: /etc/token}
    configs:
      - greeting
      - {source: app_conf, target: etc/app.conf}
      - {source: tuned, target: /etc/tuned.conf, mode: 0o600}
  plain:
    image: busybox
secrets:
  token: {file: ./token.txt}
  password: {environment: DB_PASSWORD}
configs:
  greeting: {content: "hello ${WHO}"}
  app_conf: {file: ./app.conf}
  tuned: {file: ./tuned.conf}
"""


def load(tmp_path: Path, environ: dict[str, str], text: str = APP) -> Project:
    (tmp_path / "compose.yaml").write_text(text)
    return load_project(LoadOptions(working_dir=tmp_path, project_name="p", environ=environ)).project


@pytest.fixture
def app(tmp_path: Path) -> Project:
    return load(tmp_path, {"DB_PASSWORD": "pw", "WHO": "world"})


def test_file_ones_are_read_only_binds_unless_mode_or_owner_is_given(app: Project, tmp_path: Path) -> None:
    assert bind_mounts(app, app.services["app"].config) == [
        {"Type": "bind", "Source": f"{tmp_path}/token.txt", "Target": "/run/secrets/token", "ReadOnly": True},
        {"Type": "bind", "Source": f"{tmp_path}/token.txt", "Target": "/etc/token", "ReadOnly": True},
        {"Type": "bind", "Source": f"{tmp_path}/app.conf", "Target": "/etc/app.conf", "ReadOnly": True},
    ]


def test_environment_and_content_ones_are_copied_with_mode_and_owner(app: Project, tmp_path: Path) -> None:
    assert copied_files(app, app.services["app"].config) == [
        {"name": "run/secrets/db_password", "mode": 0o400, "uid": 1000, "gid": 1001, "content": "pw"},
        {"name": "greeting", "mode": 0o444, "uid": 0, "gid": 0, "content": "hello world"},
        {"name": "etc/tuned.conf", "mode": 0o600, "uid": 0, "gid": 0, "file": f"{tmp_path}/tuned.conf"},
    ]
    assert copied_files(app, app.services["plain"].config) == []


def test_a_missing_variable_or_an_external_one_is_an_error(tmp_path: Path) -> None:
    project = load(tmp_path, {"WHO": "x"})
    with pytest.raises(ComposeError, match='environment variable "DB_PASSWORD" required by secret "password"'):
        copied_files(project, project.services["app"].config)
    external = load(tmp_path, {}, "services: {a: {image: x, secrets: [s]}}\nsecrets: {s: {external: true}}\n")
    with pytest.raises(ComposeError, match="unsupported external secret s"):
        bind_mounts(external, external.services["a"].config)


def test_up_copies_after_create_and_before_start(app: Project) -> None:
    plan = plan_up(app, state(app, networks=[]))
    create = plan.find(Kind.CREATE_CONTAINER, "Container p-app-1")
    copy = plan.find(Kind.COPY_TO_CONTAINER, "Container p-app-1")
    start = plan.find(Kind.START_CONTAINER, "Container p-app-1")
    assert create and copy and start
    assert copy.target == Ref(create.id) and copy.payload.path == "/" and len(copy.payload.files) == 3
    assert plan.precedes(create.id, copy.id) and plan.precedes(copy.id, start.id)
    assert plan.find(Kind.COPY_TO_CONTAINER, "Container p-plain-1") is None
    no_start = plan_up(app, state(app, networks=[]), UpOptions(no_start=True))
    assert no_start.find(Kind.COPY_TO_CONTAINER, "Container p-app-1") is not None


def test_recreate_copies_into_the_new_container_before_it_takes_the_name(app: Project) -> None:
    observed = state(app, [summary(app, "app", config_hash="old"), summary(app, "plain")])
    plan = plan_up(app, observed)
    copy = plan.find(Kind.COPY_TO_CONTAINER, "Container p-app-1")
    rename = plan.find(Kind.RENAME_CONTAINER, "Container p-app-1")
    assert copy and rename and plan.precedes(copy.id, rename.id)
