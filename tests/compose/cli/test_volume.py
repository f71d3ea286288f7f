"""`pycompose volume …`: pure rows and reports, then the commands against a private engine vs docker's output.

The engine tests run our CLI and the docker CLI against the same private engine.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from compose.cli.volume import key_values, natural_key, prune_report, volume_rows
from tests.compose.cli.engines import docker_out as docker
from tests.compose.cli.engines import ok, pycompose, stop_engine
from tests.engine_fixture import EngineHandle, start_private_engine

ANON = "com.docker.volume.anonymous"


# pure


def test_rows_sorted_naturally_with_dockers_fields() -> None:
    volumes: list[dict[str, Any]] = [
        {"Name": "v10", "Driver": "local", "Scope": "local", "Mountpoint": "/m/v10", "Labels": {"b": "2", "a": "1"}},
        {"Name": "v2", "Driver": "local", "Scope": "local", "Mountpoint": "/m/v2", "Labels": None,
         "UsageData": {"Size": 2000, "RefCount": 3}},
    ]
    rows = volume_rows(volumes)
    assert [r["Name"] for r in rows] == ["v2", "v10"]
    assert rows[1]["Labels"] == "a=1,b=2" and rows[1]["Links"] == "N/A" and rows[1]["Size"] == "N/A"
    assert rows[0]["Labels"] == "" and rows[0]["Links"] == "3" and rows[0]["Size"] == "2kB"
    assert set(rows[0]) == {"Name", "Driver", "Scope", "Mountpoint", "Labels", "Links", "Size", "Group",
                            "Availability", "Status"}
    assert natural_key("a2b") < natural_key("a10b") < natural_key("b")


def test_prune_report_and_key_values() -> None:
    assert prune_report({"VolumesDeleted": ["a", "b"], "SpaceReclaimed": 1500}) == \
        "Deleted Volumes:\na\nb\n\nTotal reclaimed space: 1.5kB\n"
    assert prune_report({"VolumesDeleted": None, "SpaceReclaimed": 0}) == "Total reclaimed space: 0B\n"
    assert key_values(["a=1", "b", "c=x=y", "a=2"]) == {"a": "2", "b": "", "c": "x=y"}


# against the engine


@pytest.fixture(scope="module")
def module_engine() -> Iterator[EngineHandle]:
    # Under /tmp/pyc-*: a mount the engine leaves behind shows in the leak check.
    tmp = Path(tempfile.mkdtemp(prefix="pyc-volcli-"))
    handle = start_private_engine(tmp / "engine")
    try:
        yield handle
    finally:
        stop_engine(handle)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def engine(module_engine: EngineHandle) -> Iterator[EngineHandle]:
    yield module_engine
    ok(module_engine, "volume", "prune", "--all", "--force")


@pytest.mark.root
def test_create_and_inspect(engine: EngineHandle) -> None:
    assert ok(engine, "volume", "create", "--label", "tier=db", "-o", "type=tmpfs", "-o", "device=tmpfs",
              "data") == "data\n"
    anon = ok(engine, "volume", "create").strip()
    assert len(anon) == 64
    (volume,) = json.loads(ok(engine, "volume", "inspect", "data"))
    assert volume["Labels"] == {"tier": "db"} and volume["Options"] == {"device": "tmpfs", "type": "tmpfs"}
    assert volume["Mountpoint"] == str(engine.root / "volumes" / "data" / "_data")
    assert ok(engine, "volume", "inspect", "data") == docker(engine, "volume", "inspect", "data")
    assert ok(engine, "volume", "inspect", "-f", "{{.Name}} {{.Driver}}", "data", anon) == \
        f"data local\n{anon} local\n"
    assert json.loads(ok(engine, "volume", "inspect", anon))[0]["Labels"] == {ANON: ""}
    again = pycompose(engine, "volume", "create", "--name", "x1", "x2")
    assert again.returncode != 0 and "conflicting options" in again.stderr


@pytest.mark.root
def test_inspect_and_rm_of_missing_volumes(engine: EngineHandle) -> None:
    ok(engine, "volume", "create", "here")
    result = pycompose(engine, "volume", "inspect", "here", "nope")
    assert result.returncode == 1 and "get nope: no such volume" in result.stderr
    assert json.loads(result.stdout)[0]["Name"] == "here"
    result = pycompose(engine, "volume", "rm", "here", "nope")
    assert result.returncode == 1 and result.stdout == "here\n"
    assert "get nope: no such volume" in result.stderr
    assert ok(engine, "volume", "rm", "-f", "nope") == "nope\n"


@pytest.mark.root
def test_ls_matches_docker(engine: EngineHandle) -> None:
    for name in ("v10", "v2", "v1"):
        ok(engine, "volume", "create", "--label", f"n={name}", name)
    table = ok(engine, "volume", "ls")
    assert table == docker(engine, "volume", "ls")
    assert table.splitlines() == ["DRIVER    VOLUME NAME", "local     v1", "local     v2", "local     v10"]
    assert ok(engine, "volume", "ls", "-q") == "v1\nv2\nv10\n"
    assert ok(engine, "volume", "ls", "--format", "json") == docker(engine, "volume", "ls", "--format", "json")
    fixed = "table {{.Name}}\t{{.Labels}}\t{{.Scope}}\t{{.Mountpoint}}"
    assert ok(engine, "volume", "ls", "--format", fixed) == docker(engine, "volume", "ls", "--format", fixed)
    assert ok(engine, "volume", "ls", "-q", "-f", "label=n=v2") == "v2\n"
    assert ok(engine, "volume", "ls", "-q", "-f", "name=v1") == "v1\nv10\n"
    assert ok(engine, "volume", "ls", "-q", "-f", "dangling=true", "-f", "driver=local") == "v1\nv2\nv10\n"
    bad = pycompose(engine, "volume", "ls", "-f", "until=1h")
    assert bad.returncode != 0 and "invalid filter 'until'" in bad.stderr


@pytest.mark.root
def test_prune_asks_then_takes_anonymous_ones_unless_all(engine: EngineHandle) -> None:
    ok(engine, "volume", "create", "named")
    anon = ok(engine, "volume", "create").strip()
    declined = ok(engine, "volume", "prune", stdin="n\n")
    assert declined == ("WARNING! This will remove anonymous local volumes not used by at least one container.\n"
                        "Are you sure you want to continue? [y/N] ")
    assert ok(engine, "volume", "ls", "-q").split() == sorted(["named", anon])
    report = ok(engine, "volume", "prune", stdin="y\n")
    assert report.endswith(f"Deleted Volumes:\n{anon}\n\nTotal reclaimed space: 0B\n")
    assert ok(engine, "volume", "ls", "-q") == "named\n"
    assert ok(engine, "volume", "prune", "-f", "--filter", "label=nothing", "--all") == "Total reclaimed space: 0B\n"
    assert ok(engine, "volume", "prune", "-a", "-f") == "Deleted Volumes:\nnamed\n\nTotal reclaimed space: 0B\n"
    assert ok(engine, "volume", "ls", "-q") == ""
