"""A RUN's bind mount is in its cache key by what it shows (as buildkit keys it): a change in the bound
files runs the step again, an unchanged rebuild does not; through the real docker CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine_fixture import EngineHandle
from tests.runtime.build.clients import docker, steps, write

pytestmark = pytest.mark.root


def test_a_change_in_bound_files_runs_the_step_again(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {
        "Dockerfile": f"FROM {busybox} AS stage\nARG V=1\nRUN echo stage-$V > /v\n"
                      f"FROM {busybox}\nRUN --mount=type=bind,source=d,target=/d cat /d/x > /copied\n"
                      "RUN --mount=from=stage,target=/s cat /s/v > /from-stage\n"
                      "CMD [\"cat\", \"/copied\", \"/from-stage\"]\n",
        "d/x": "one\n", "other": "",
    })
    docker(engine, "build", "-t", "mk:1", str(ctx))
    assert docker(engine, "run", "--rm", "mk:1").stdout == "one\nstage-1\n"
    write(ctx, {"other": "changed"})  # not bound: everything from cache
    assert all(cached for _, cached in steps(docker(engine, "build", "-t", "mk:1", str(ctx)).stdout)[1:3])
    write(ctx, {"d/x": "two\n"})
    again = steps(docker(engine, "build", "-t", "mk:1", str(ctx)).stdout)
    assert [cached for _, cached in again] == [False, True, True, False, False, False, False], again
    changed_stage = steps(docker(engine, "build", "--build-arg", "V=2", "-t", "mk:1", str(ctx)).stdout)
    assert [cached for _, cached in changed_stage] == [False, True, False, False, True, False, False], changed_stage
    assert docker(engine, "run", "--rm", "mk:1").stdout == "two\nstage-2\n"
