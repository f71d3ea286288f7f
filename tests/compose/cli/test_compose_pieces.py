"""The pure pieces of the compose commands: flag checks, selections, bodies and rows (no engine)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from compose import labels as L
from compose.cli.down import images_to_remove
from compose.cli.ps import compose_rows, select
from compose.cli.run import RunOptions, one_off_body
from compose.cli.up import _check, attached_services, parse_scale
from compose.errors import ComposeError
from compose.session import selected_services
from tests.compose.plan.fixtures import load, state, summary

APP = """
services:
  web:
    image: nginx
    ports: ["8080:80"]
    restart: always
    depends_on: [db]
    environment: {A: "1", B: "2"}
  db: {image: postgres}
  tool: {build: ., network_mode: none}
"""

FLAGS = {"abort_on_container_exit": False, "abort_on_container_failure": False, "exit_code_from": None,
         "detach": False, "attach": (), "no_attach": (), "attach_dependencies": False, "no_start": False,
         "wait": False, "build": False, "no_build": False}


def test_parse_scale() -> None:
    assert parse_scale(["web=3", "db = 0"]) == {"web": 3, "db": 0}
    for bad in ("web", "web=x", "=3"):
        with pytest.raises(click.BadParameter):
            parse_scale([bad])


def test_incompatible_flags() -> None:
    with pytest.raises(click.UsageError, match="--detach cannot be combined"):
        _check({**FLAGS, "detach": True, "exit_code_from": "web"})
    with pytest.raises(click.UsageError, match="cannot be combined with --abort-on-container-exit"):
        _check({**FLAGS, "abort_on_container_exit": True, "abort_on_container_failure": True})
    with pytest.raises(click.UsageError, match="--no-start"):
        _check({**FLAGS, "no_start": True, "wait": True})
    _check({**FLAGS, "detach": True, "wait": True})


def test_selection_and_attachment(tmp_path: Path) -> None:
    project = load(tmp_path, APP)
    assert selected_services(project, ["web"], False) == {"web", "db"}
    assert selected_services(project, ["web"], True) == {"web"}
    assert selected_services(project, [], False) == {"web", "db", "tool"}
    assert attached_services(project, ("web",), FLAGS) == {"web"}
    assert attached_services(project, ("web",), {**FLAGS, "attach_dependencies": True}) == {"web", "db"}
    assert attached_services(project, (), {**FLAGS, "no_attach": ("db",)}) == {"web", "tool"}
    assert attached_services(project, (), {**FLAGS, "attach": ("db",)}) == {"db"}
    with pytest.raises(ComposeError, match="no such service: nope"):
        attached_services(project, (), {**FLAGS, "attach": ("nope",)})


def test_down_rmi_choices(tmp_path: Path) -> None:
    project = load(tmp_path, APP)
    observed = state(project, [summary(project, "web")])
    assert images_to_remove(project, observed, None) == []
    assert images_to_remove(project, observed, "local") == ["p-tool"]
    assert images_to_remove(project, observed, "all") == ["nginx", "p-tool", "postgres"]


def test_ps_selection_and_rows(tmp_path: Path) -> None:
    project = load(tmp_path, APP)
    web = summary(project, "web", status="Up 2 seconds (healthy)")
    db = summary(project, "db", state="exited", status="Exited (3) 1 second ago")
    orphan = summary(project, "gone", state="running", status="Up 1 second")
    found = [web, db, orphan]
    names = lambda rows: [r["Names"][0].lstrip("/") for r in rows]  # noqa: E731
    assert names(select(found, services=(), known=project.services, states=(), show_all=False,
                        orphans=True)) == ["p-gone-1", "p-web-1"]
    assert names(select(found, services=(), known=project.services, states=("exited",), show_all=False,
                        orphans=True)) == ["p-db-1"]
    assert names(select(found, services=(), known=project.services, states=(), show_all=True,
                        orphans=False)) == ["p-db-1", "p-web-1"]
    assert names(select(found, services=("db",), known=project.services, states=(), show_all=True,
                        orphans=True)) == ["p-db-1"]
    rows = {r["Service"]: r for r in compose_rows([web, db])}
    assert rows["web"]["Name"] == "p-web-1" and rows["web"]["Health"] == "healthy"
    assert rows["db"]["ExitCode"] == 3 and rows["db"]["Project"] == "p"


def test_one_off_body_differs_from_the_service_as_docker_composes(tmp_path: Path) -> None:
    project = load(tmp_path, APP)
    observed = state(project, [summary(project, "db")])
    name, body = one_off_body(project, observed, RunOptions("web", ("echo", "hi"), env=("B=3", "C=4")), "ab" * 32)
    assert name == "p-web-run-abababababab"
    assert body["Cmd"] == ["echo", "hi"] and body["Env"] == ["A=1", "B=3", "C=4"]
    assert body["Labels"][L.ONEOFF] == "True" and body["Labels"][L.SLUG] == "ab" * 32
    assert L.NUMBER not in body["Labels"]
    host = body["HostConfig"]
    assert host["RestartPolicy"] == {"Name": "no"} and "PortBindings" not in host and host["AutoRemove"] is False
    aliases = [e["Aliases"] for e in body["NetworkingConfig"]["EndpointsConfig"].values()]
    assert aliases == [[name]]
    _, ported = one_off_body(project, observed, RunOptions("web", service_ports=True, remove=True,
                                                           publish=("9000:90",), entrypoint="sh -c",
                                                           volumes=("/srv:/srv:ro",)), "cd" * 32)
    assert ported["HostConfig"]["PortBindings"]["80/tcp"] and ported["HostConfig"]["PortBindings"]["90/tcp"]
    assert ported["Entrypoint"] == ["sh", "-c"] and ported["HostConfig"]["AutoRemove"] is True
    assert "/srv:/srv:ro" in ported["HostConfig"]["Binds"]
