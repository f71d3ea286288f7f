"""The build cache in `docker system df` (GET /system/df's BuildCache) and reclaimed by `docker builder prune`,
through the real docker CLI against an engine of the module's own."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.engine_fixture import EngineHandle
from tests.runtime.build.clients import docker, write

pytestmark = pytest.mark.root

KEYS = {"ID", "Parents", "Type", "Description", "InUse", "Shared", "Size", "CreatedAt", "LastUsedAt", "UsageCount"}


def cache_line(engine: EngineHandle) -> dict[str, str]:
    rows = [json.loads(line) for line in docker(engine, "system", "df", "--format", "json").stdout.splitlines()]
    return next(r for r in rows if r["Type"] == "Build Cache")


def records(engine: EngineHandle) -> list[dict[str, object]]:
    import docker as docker_py

    from tests.compose.cli.engines import cli_env

    client = docker_py.APIClient(base_url=cli_env(engine.root.parent, engine)["DOCKER_HOST"])
    try:
        return list(client.df()["BuildCache"])
    finally:
        client.close()


def test_system_df_lists_the_build_cache_and_builder_prune_reclaims_it(engine: EngineHandle, busybox: str,
                                                                        tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {"Dockerfile": f"FROM {busybox}\nRUN head -c 300000 /dev/zero > /big\n"
                                                 "ENV A=1\nRUN echo small > /small\nCOPY f /f\n", "f": "x" * 5000})
    docker(engine, "build", "-t", "usage:1", str(ctx))
    docker(engine, "build", "-t", "usage:1", str(ctx))  # all from cache: each record used twice
    found = records(engine)
    steps = [r for r in found if r["Type"] == "regular"]
    assert len(steps) == 4 and all(set(r) == KEYS for r in found), found
    by_step = {str(r["Description"]).split(" ", 2)[-1][:22]: r for r in steps}
    big = by_step["head -c 300000 /dev/ze"]
    assert isinstance(big["Size"], int) and big["Size"] >= 300000 and big["UsageCount"] == 2
    assert by_step["#(nop)  ENV A=1"]["Size"] == 0
    assert all(re.match(r"\d{4}-\d\d-\d\dT[\d:.]+Z$", str(r["CreatedAt"])) for r in steps)
    assert all(r["Shared"] for r in steps if r["Size"])  # every layer is in usage:1: a prune cannot reclaim them
    assert cache_line(engine)["Size"] == "0B"
    docker(engine, "rmi", "--no-prune", "usage:1")  # its parents stay, held by the cache only
    line = cache_line(engine)
    assert line["TotalCount"] == "3" and line["Reclaimable"] == line["Size"], line
    assert line["Size"].endswith("kB") and float(line["Size"][:-2]) >= 300, line
    verbose = docker(engine, "system", "df", "-v").stdout
    assert "Build cache usage:" in verbose and "regular" in verbose, verbose
    pruned = docker(engine, "builder", "prune", "-af").stdout
    reclaimed = re.search(r"Total:?\s+(?:reclaimed space:\s+)?([\d.]+)(\w+)", pruned)
    assert reclaimed and float(reclaimed.group(1)) > 0 and reclaimed.group(2) in ("kB", "MB"), pruned
    assert [r for r in records(engine) if r["Type"] == "regular"] == []
    assert cache_line(engine)["Size"] == "0B"
