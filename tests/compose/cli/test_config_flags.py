"""`config`'s model flags (--no-consistency, --no-normalize, --no-path-resolution, --no-env-resolution,
--variables, --format) and two conformance cases: profiles that break a cycle, a null service in an extends file."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.compose.cli.runner import run_pycompose

APP = """
services:
  web:
    image: "busybox:${TAG:-latest}"
    env_file: [web.env]
    volumes: ["./data:/data"]
    depends_on: [db]
    environment:
      MODE: ${MODE:?set MODE}
      EXTRA: ${EXTRA:+on}
  db:
    image: postgres
"""


def write(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def config(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = run_pycompose(["-p", "x", "config", *args], tmp_path, env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_resolution_flags(tmp_path: Path) -> None:
    write(tmp_path, {"compose.yaml": APP, "web.env": "FROM_FILE=1\n"})
    env = {"MODE": "prod"}
    full = yaml.safe_load(config(tmp_path, env=env))
    web = full["services"]["web"]
    assert web["environment"] == {"MODE": "prod", "EXTRA": "", "FROM_FILE": "1"} and "env_file" not in web
    assert web["volumes"][0]["source"] == str(tmp_path / "data")
    raw = yaml.safe_load(config(tmp_path, "--no-env-resolution", "--no-path-resolution", env=env))["services"]["web"]
    assert raw["env_file"][0]["path"] in ("web.env", "./web.env")
    assert raw["environment"] == {"MODE": "prod", "EXTRA": ""}
    assert raw["volumes"][0]["source"] in ("./data", "data")
    bare = yaml.safe_load(config(tmp_path, "--no-normalize", env=env))
    assert "networks" not in bare and "networks" not in bare["services"]["db"]  # no implicit default network
    assert json.loads(config(tmp_path, "--format", "json", env=env))["services"]["db"]["image"] == "postgres"


def test_no_consistency_lets_an_inconsistent_model_through(tmp_path: Path) -> None:
    inconsistent = "services:\n  web:\n    image: a\n    depends_on: [ghost]\n    networks: [nope]\n"
    write(tmp_path, {"compose.yaml": inconsistent})
    refused = run_pycompose(["config"], tmp_path)
    assert refused.returncode != 0 and "undefined" in refused.stderr
    shown = yaml.safe_load(config(tmp_path, "--no-consistency"))
    assert "ghost" in shown["services"]["web"]["depends_on"]


def test_variables_table_json_yaml(tmp_path: Path) -> None:
    write(tmp_path, {"compose.yaml": APP, "web.env": ""})
    table = config(tmp_path, "--variables").splitlines()
    assert table[0].split() == ["NAME", "REQUIRED", "DEFAULT", "VALUE", "ALTERNATE", "VALUE"]
    rows = {line.split()[0]: line.split()[1:] for line in table[1:]}
    assert rows == {"EXTRA": ["false", "on"], "MODE": ["true"], "TAG": ["false", "latest"]}
    data = json.loads(config(tmp_path, "--variables", "--format", "json"))
    assert data["TAG"] == {"Name": "TAG", "DefaultValue": "latest", "PresenceValue": "", "Required": False}
    assert data["MODE"]["Required"] is True and data["EXTRA"]["PresenceValue"] == "on"
    assert yaml.safe_load(config(tmp_path, "--variables", "--format", "yaml"))["TAG"]["defaultvalue"] == "latest"


def test_profiles_that_break_a_cycle_load(tmp_path: Path) -> None:
    write(tmp_path, {"compose.yaml": """
services:
  web: {image: a}
  service1: {image: a, depends_on: {service2: {condition: service_started, required: false}}}
  service2: {image: a, profiles: [debug], depends_on: [service3]}
  service3: {image: a, profiles: [debug], depends_on: [service1]}
  tool: {image: a, profiles: [tools], depends_on: [helper]}
  helper: {image: a, profiles: [tools], depends_on: [tool]}
"""})
    assert config(tmp_path, "--services").split() == ["web", "service1"]
    assert config(tmp_path, "--profiles").split() == ["debug", "tools"]
    cycle = run_pycompose(["--profile", "debug", "config"], tmp_path)
    assert cycle.returncode == 1 and "dependency cycle" in cycle.stderr


def test_null_service_in_an_extends_file_is_an_empty_service(tmp_path: Path) -> None:
    write(tmp_path, {"base.yaml": "services:\n  web:\n", "compose.yaml": """
services:
  app:
    image: busybox
    extends: {file: base.yaml, service: web}
"""})
    app = yaml.safe_load(config(tmp_path))["services"]["app"]
    assert app["image"] == "busybox" and "extends" not in app
    write(tmp_path, {"compose.yaml": "services:\n  web:\n"})  # in the project's own file it stays an error
    assert run_pycompose(["config"], tmp_path).returncode == 1
