"""`--cache-from` an image that is not the cache's descendant (saved, removed and loaded again): its steps
are matched against the image's history, as dockerd's classic builder does; through the real docker CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine_fixture import EngineHandle
from tests.runtime.build.clients import docker, steps, write

pytestmark = pytest.mark.root


def test_cache_from_a_loaded_image_matches_its_history(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {
        "Dockerfile": f"FROM {busybox}\nARG V=1\nENV A=1\nRUN echo ran-$V > /ran\nWORKDIR /app\nCOPY f ./\n"
                      "RUN cat /ran f > both\nLABEL x=y\nCMD [\"cat\", \"both\"]\n",
        "f": "file\n",
    })
    first = docker(engine, "build", "-t", "cf:1", str(ctx)).stdout
    built = json.loads(docker(engine, "image", "inspect", "cf:1").stdout)[0]
    archive = tmp_path / "cf.tar"
    docker(engine, "save", "-o", str(archive), "cf:1")
    docker(engine, "rmi", "cf:1")  # the intermediates go too: the cache holds nothing of it now
    docker(engine, "load", "-i", str(archive))
    again = docker(engine, "build", "--cache-from", "cf:1", "-t", "cf:2", str(ctx)).stdout
    assert [c for _, c in steps(again)] == [False] + [True] * 8, again
    assert "Running in" not in again
    rebuilt = json.loads(docker(engine, "image", "inspect", "cf:2").stdout)[0]
    assert rebuilt["Id"] == built["Id"]  # the last step is the source itself
    assert docker(engine, "run", "--rm", "cf:2").stdout == "ran-1\nfile\n"
    # A change from a step on: the steps before it from the source, it and those after it run.
    write(ctx, {"f": "changed\n"})
    changed = docker(engine, "build", "--cache-from", "cf:1", "-t", "cf:3", str(ctx)).stdout
    assert [c for _, c in steps(changed)] == [False, True, True, True, True, False, False, False, False], changed
    assert docker(engine, "run", "--rm", "cf:3").stdout == "ran-1\nchanged\n"
    assert [c for _, c in steps(first)] == [False] * 9
