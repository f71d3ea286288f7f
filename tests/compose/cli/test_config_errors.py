"""Bad input to `pycompose config`: one line with file:line:col, non-zero exit, no traceback."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.compose.cli.runner import run_pycompose


@dataclass(frozen=True)
class Case:
    files: dict[str, str]
    where: str  # "file:line" the error must point at
    says: str  # a part of the message
    args: tuple[str, ...] = ("config",)
    environ: dict[str, str] = field(default_factory=dict)


SVC = "services:\n  web:\n    image: busybox\n"

CASES: dict[str, Case] = {
    "yaml_unclosed_flow": Case({"compose.yaml": "services:\n  web:\n    ports: [80\n"}, "compose.yaml:4",
                               "invalid YAML"),
    "yaml_bad_indent": Case({"compose.yaml": "services:\n  web:\n    image: a\n   ports: []\n"}, "compose.yaml:4",
                            "invalid YAML"),
    "yaml_tab": Case({"compose.yaml": "services:\n\tweb:\n"}, "compose.yaml:2", "invalid YAML"),
    "yaml_duplicate_key": Case({"compose.yaml": SVC + "    image: other\n"}, "compose.yaml:4", "already defined"),
    "yaml_unknown_tag": Case({"compose.yaml": "services:\n  web:\n    image: !secret x\n"}, "compose.yaml:3",
                             "unknown tag"),
    "empty_file": Case({"compose.yaml": "# nothing here\n"}, "compose.yaml:1", "empty compose file"),
    "top_level_list": Case({"compose.yaml": "- services\n"}, "compose.yaml:1", "must be a mapping"),
    "unknown_top_key": Case({"compose.yaml": SVC + "servicez: {}\n"}, "compose.yaml:4", "did you mean 'services'"),
    "unknown_service_key": Case({"compose.yaml": "services:\n  web:\n    imgae: busybox\n"}, "compose.yaml:3",
                                "did you mean 'image'"),
    "ports_wrong_type": Case({"compose.yaml": SVC + "    ports: 8080\n"}, "compose.yaml:4", "ports"),
    "environment_wrong_type": Case({"compose.yaml": SVC + "    environment: 12\n"}, "compose.yaml:4",
                                   "environment"),
    "depends_on_bad_condition": Case(
        {"compose.yaml": SVC + "    depends_on:\n      db:\n        condition: service_helthy\n  db:\n"
                               "    image: busybox\n"}, "compose.yaml:6", "condition"),
    "bad_service_name": Case({"compose.yaml": "services:\n  'web app':\n    image: busybox\n"}, "compose.yaml:2",
                             "web app"),
    "network_wrong_type": Case({"compose.yaml": SVC + "networks:\n  front: 12\n"}, "compose.yaml:5", "front"),
    "required_var": Case({"compose.yaml": SVC + "    environment:\n      PW: ${DB_PASSWORD:?set a password}\n"},
                         "compose.yaml:5", "set a password"),
    "required_var_plain": Case({"compose.yaml": "services:\n  web:\n    image: ${IMAGE?}\n"}, "compose.yaml:3",
                               "IMAGE"),
    "bad_interpolation": Case({"compose.yaml": "services:\n  web:\n    image: ${IMAGE\n"}, "compose.yaml:3",
                              "invalid interpolation"),
    "bad_boolean_after_interpolation": Case({"compose.yaml": SVC + "    read_only: ${RO}\n"}, "compose.yaml:4",
                                            "read_only", environ={"RO": "maybe"}),
    "extends_cycle": Case({"compose.yaml": "services:\n  a:\n    image: x\n    extends: b\n  b:\n    extends: a\n"},
                          "compose.yaml:", "cycle"),
    "extends_missing_service": Case({"compose.yaml": "services:\n  a:\n    extends: nothere\n"},
                                    "compose.yaml:3", "nothere"),
    "extends_missing_file": Case(
        {"compose.yaml": "services:\n  a:\n    extends:\n      file: gone.yaml\n      service: b\n"},
        "compose.yaml:", "gone.yaml"),
    "depends_on_cycle": Case(
        {"compose.yaml": "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n"
                         "    depends_on: [a]\n"}, "compose.yaml:", "a -> b -> a"),
    "depends_on_undefined": Case({"compose.yaml": SVC + "    depends_on: [db]\n"}, "compose.yaml:", "db"),
    "missing_env_file": Case({"compose.yaml": SVC + "    env_file: missing.env\n"}, "compose.yaml:4",
                             "missing.env"),
    "disabled_profile_reference": Case(
        {"compose.yaml": SVC + "    depends_on: [db]\n  db:\n    image: busybox\n    profiles: [data]\n"},
        "compose.yaml:", "db"),
    "undefined_network": Case({"compose.yaml": SVC + "    networks: [backend]\n"}, "compose.yaml:", "backend"),
    "undefined_volume": Case({"compose.yaml": SVC + "    volumes: ['data:/data']\n"}, "compose.yaml:", "data"),
    "undefined_secret": Case({"compose.yaml": SVC + "    secrets: [token]\n"}, "compose.yaml:", "token"),
    "invalid_port": Case({"compose.yaml": SVC + "    ports: ['80:abc']\n"}, "compose.yaml:4", "80:abc"),
    "invalid_volume_spec": Case({"compose.yaml": SVC + "    volumes: ['data::/x']\n"}, "compose.yaml:4", "data::/x"),
    "bad_duration": Case({"compose.yaml": SVC + "    stop_grace_period: ten seconds\n"}, "compose.yaml:4",
                         "stop_grace_period"),
    "bad_byte_size": Case({"compose.yaml": SVC + "    mem_limit: lots\n"}, "compose.yaml:4", "mem_limit"),
    "include_missing": Case({"compose.yaml": "include:\n  - other/compose.yaml\n" + SVC}, "compose.yaml:2",
                            "other/compose.yaml"),
    "include_without_path": Case({"compose.yaml": "include:\n  - env_file: x.env\n" + SVC}, "compose.yaml:2",
                                 "needs a path"),
    "include_conflict": Case(
        {"compose.yaml": "include:\n  - sub/compose.yaml\nservices:\n  db:\n    image: mine\n",
         "sub/compose.yaml": "services:\n  db:\n    image: theirs\n"}, "compose.yaml:2", "conflicts"),
    "bad_project_name_in_file": Case({"compose.yaml": "name: My Project\n" + SVC}, "compose.yaml:1",
                                     "project name"),
    "dotenv_syntax": Case({"compose.yaml": SVC, ".env": "GOOD=1\nNOT VALID=2\n"}, ".env:2", "NOT VALID"),
    "healthcheck_wrong_type": Case({"compose.yaml": SVC + "    healthcheck:\n      retries: many\n"},
                                   "compose.yaml:5", "retries"),
    "override_file_error": Case({"compose.yaml": SVC, "compose.override.yaml": "services:\n  web:\n    prots: []\n"},
                                "compose.override.yaml:3", "did you mean 'ports'"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_clear_line(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    project = tmp_path / "proj"
    for rel, text in case.files.items():
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(text)
    result = run_pycompose(list(case.args), project, case.environ)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("WARN[")]
    assert len(lines) == 1, result.stderr
    line = lines[0]
    file, _, rest = case.where.partition(":")
    line_no = rest if rest else r"\d+"
    pattern = "^" + re.escape(file) + ":" + line_no + r":\d+: "
    assert re.match(pattern, line), line
    assert case.says in line, line
    assert result.stdout == ""


def test_missing_compose_file_is_one_line(tmp_path: Path) -> None:
    result = run_pycompose(["config"], tmp_path)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and "no configuration file provided" in result.stderr


def test_invalid_project_name_flag(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(SVC)
    result = run_pycompose(["-p", "Bad Name", "config"], tmp_path)
    assert result.returncode != 0
    assert "invalid project name" in result.stderr and "Traceback" not in result.stderr
