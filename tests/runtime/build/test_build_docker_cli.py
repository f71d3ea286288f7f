"""`docker build` (the real CLI, classic builder) against the session engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine_fixture import EngineHandle
from tests.runtime.build.clients import docker, steps, write

pytestmark = pytest.mark.root


def test_build_run_copy_cmd_tag_and_cache(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {
        "Dockerfile": f"FROM {busybox}\nRUN echo hello > /greeting && echo ran\nCOPY app.txt /app/\n"
                      'CMD ["cat", "/app/app.txt"]\n',
        "app.txt": "one\n",
    })
    first = docker(engine, "build", "-t", "b1:latest", str(ctx))
    out = first.stdout
    assert "Step 1/4 : FROM busybox:latest" in out, out
    assert " ---> Running in " in out and "\nran\n" in out, out
    assert "Removing intermediate container " in out, out
    assert "Successfully built " in out and "Successfully tagged b1:latest" in out, out
    assert [cached for _, cached in steps(out)] == [False, False, False, False]
    run = docker(engine, "run", "--rm", "b1")
    assert run.stdout == "one\n"
    assert docker(engine, "run", "--rm", "b1", "cat", "/greeting").stdout == "hello\n"
    again = docker(engine, "build", "-t", "b1:latest", str(ctx)).stdout
    assert [cached for _, cached in steps(again)] == [False, True, True, True], again
    built = [line.split()[-1] for line in out.splitlines() if line.startswith("Successfully built")]
    rebuilt = [line.split()[-1] for line in again.splitlines() if line.startswith("Successfully built")]
    assert built == rebuilt
    history = json.loads(docker(engine, "image", "inspect", "b1").stdout)[0]
    assert history["Config"]["Cmd"] == ["cat", "/app/app.txt"]
    rows = docker(engine, "history", "--no-trunc", "--format", "{{.CreatedBy}}", "b1").stdout.splitlines()
    assert rows[0] == '/bin/sh -c #(nop)  CMD ["cat" "/app/app.txt"]'
    assert rows[1].startswith("/bin/sh -c #(nop) COPY file:") and rows[1].endswith(" in /app/ ")
    assert rows[2] == "/bin/sh -c echo hello > /greeting && echo ran"
    images = docker(engine, "images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert "<none>:<none>" not in images, images
