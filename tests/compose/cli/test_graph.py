"""`pycompose graph`: dot, mermaid and svg of a project with every kind of edge, run as a user does."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.compose.cli.runner import run_pycompose

EVERY_EDGE = """
services:
  db:
    image: busybox
    healthcheck: {test: ["CMD", "true"]}
  migrate:
    image: busybox
    depends_on:
      db: {condition: service_healthy}
  cache:
    image: busybox
  worker:
    image: busybox
    depends_on: [cache]
  web:
    image: busybox
    links: ["cache:redis"]
    volumes_from: ["data:ro"]
    depends_on:
      migrate: {condition: service_completed_successfully}
      optional: {condition: service_started, required: false}
  data:
    image: busybox
  optional:
    image: busybox
  sidecar:
    image: busybox
    network_mode: "service:web"
    ipc: "service:db"
    pid: "service:web"
"""

DOT = '''digraph "demo" {
  rankdir=LR;
  node [shape=box];
  "cache";
  "data";
  "db";
  "migrate";
  "optional";
  "sidecar";
  "web";
  "worker";
  "migrate" -> "db" [label="service_healthy"];
  "sidecar" -> "db" [label="ipc", style=dotted];
  "sidecar" -> "web" [label="network_mode, pid", style=dotted];
  "web" -> "cache" [label="links", style=dotted];
  "web" -> "data" [label="volumes_from", style=dotted];
  "web" -> "migrate" [label="service_completed_successfully"];
  "web" -> "optional" [label="service_started, required: false", style=dashed];
  "worker" -> "cache" [label="service_started"];
}
'''

MERMAID = '''flowchart LR
  svc_cache["cache"]
  svc_data["data"]
  svc_db["db"]
  svc_migrate["migrate"]
  svc_optional["optional"]
  svc_sidecar["sidecar"]
  svc_web["web"]
  svc_worker["worker"]
  svc_migrate -->|"service_healthy"| svc_db
  svc_sidecar -.->|"ipc"| svc_db
  svc_sidecar -.->|"network_mode, pid"| svc_web
  svc_web -.->|"links"| svc_cache
  svc_web -.->|"volumes_from"| svc_data
  svc_web -->|"service_completed_successfully"| svc_migrate
  svc_web -.->|"service_started, required: false"| svc_optional
  svc_worker -->|"service_started"| svc_cache
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "compose.yaml").write_text(EVERY_EDGE)
    return tmp_path


def test_dot_has_every_edge_kind(project: Path) -> None:
    result = run_pycompose(["-p", "demo", "graph"], project)
    assert result.returncode == 0, result.stderr
    assert result.stdout == DOT
    again = run_pycompose(["-p", "demo", "graph", "--format", "dot"], project)
    assert again.stdout == DOT  # deterministic


def test_mermaid_has_every_edge_kind(project: Path) -> None:
    result = run_pycompose(["-p", "demo", "graph", "--format", "mermaid"], project)
    assert result.returncode == 0, result.stderr
    assert result.stdout == MERMAID


def test_explicit_depends_on_beside_a_link_keeps_its_condition(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  db: {image: busybox}\n"
        "  web:\n    image: busybox\n    links: [db]\n    depends_on: {db: {condition: service_healthy}}\n")
    result = run_pycompose(["-p", "demo", "graph"], tmp_path)
    assert '"web" -> "db" [label="service_healthy, links"];' in result.stdout


def test_mermaid_ids_of_names_with_dashes_and_dots(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  a-b: {image: busybox}\n  a.b: {image: busybox, depends_on: [a-b]}\n")
    result = run_pycompose(["-p", "demo", "graph", "--format", "mermaid"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert '  svc_a_2e_b -->|"service_started"| svc_a_2d_b\n' in result.stdout


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed on this machine")
def test_svg_parses_as_xml(project: Path) -> None:
    result = run_pycompose(["-p", "demo", "graph", "--format", "svg"], project)
    assert result.returncode == 0, result.stderr
    root = ET.fromstring(result.stdout)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    titles = {t.text for t in root.iter("{http://www.w3.org/2000/svg}title")}
    assert {"web", "db", "web->migrate", "sidecar->web"} <= titles


def test_svg_without_graphviz_is_one_line(project: Path, tmp_path: Path) -> None:
    empty = tmp_path / "nobin"
    empty.mkdir()
    result = run_pycompose(["-p", "demo", "graph", "--format", "svg"], project, {"PATH": str(empty)})
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "graphviz" in result.stderr and "dot" in result.stderr and "Traceback" not in result.stderr


def test_bad_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web: {image: busybox, depends_on: [nope]}\n")
    result = run_pycompose(["-p", "demo", "graph"], tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and result.stderr.strip()
