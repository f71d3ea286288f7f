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


MULTI = """\
# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM $BASE AS base
LABEL stage=base
ENV GREETING=hello DIR=/srv
WORKDIR $DIR
COPY data/ ./data/
RUN echo "$GREETING from base" > base.txt

FROM base AS tools
ARG FLAVOUR=plain
RUN echo "tools $FLAVOUR" > /tools.txt

FROM busybox
MAINTAINER someone@example.com
ARG FLAVOUR
ARG BASE
COPY --from=base /srv/base.txt /srv/data/ /copied/
COPY --from=tools /tools.txt /copied/
ADD extra.txt /copied/
USER 0:0
EXPOSE 8080/tcp 9090
VOLUME ["/var/data"]
STOPSIGNAL SIGINT
SHELL ["/bin/sh", "-c"]
HEALTHCHECK --interval=5s --timeout=3s --retries=3 CMD true
ONBUILD RUN echo triggered
ENV FLAVOUR_SEEN=${FLAVOUR:-none}
RUN echo "base is $BASE" > /copied/args.txt
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /copied/*.txt"]
"""


def _context(root: Path) -> Path:
    return write(root, {"Dockerfile": MULTI, "data/a.txt": "a\n", "data/b.txt": "b\n", "extra.txt": "extra\n"})


def test_multi_stage_every_instruction(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    ctx = _context(tmp_path / "ctx")
    out = docker(engine, "build", "--build-arg", "FLAVOUR=spicy", "-t", "multi", str(ctx)).stdout
    assert "Successfully tagged multi:latest" in out, out
    assert "[Warning]" not in out, out
    text = docker(engine, "run", "--rm", "multi").stdout
    assert text.splitlines() == ["a", "base is busybox", "b", "hello from base", "extra", "tools spicy"], text
    info = json.loads(docker(engine, "image", "inspect", "multi").stdout)[0]
    config = info["Config"]
    assert config["Entrypoint"] == ["/bin/sh", "-c"] and config["Cmd"] == ["cat /copied/*.txt"]
    assert config["User"] == "0:0" and config["StopSignal"] == "SIGINT"
    assert set(config["ExposedPorts"]) == {"8080/tcp", "9090/tcp"} and set(config["Volumes"]) == {"/var/data"}
    assert config["Healthcheck"]["Test"] == ["CMD-SHELL", "true"] and config["Healthcheck"]["Retries"] == 3
    assert config["OnBuild"] == ["RUN echo triggered"]
    assert "FLAVOUR_SEEN=spicy" in config["Env"]
    assert info["Author"] == "someone@example.com"
    rows = docker(engine, "history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Size}}", "multi").stdout
    created = [r.rsplit("|", 1)[0] for r in rows.splitlines()]
    assert created[0] == '/bin/sh -c #(nop)  CMD ["cat /copied/*.txt"]'
    assert created[1] == '/bin/sh -c #(nop)  ENTRYPOINT ["/bin/sh" "-c"]'
    assert created[2] == '|2 BASE=busybox FLAVOUR=spicy /bin/sh -c echo "base is $BASE" > /copied/args.txt'
    assert created[3] == "/bin/sh -c #(nop)  ENV FLAVOUR_SEEN=spicy"
    assert created[4] == "/bin/sh -c #(nop)  ONBUILD RUN echo triggered"
    assert created[5].startswith('/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "true"] "5s" "3s" "0s" "0s" ')
    assert "/bin/sh -c #(nop)  MAINTAINER someone@example.com" in created
    again = docker(engine, "build", "--build-arg", "FLAVOUR=spicy", "-t", "multi", str(ctx)).stdout
    marks = steps(again)
    assert all(cached for text, cached in marks if not text.startswith(("FROM", "ARG BASE"))), again
    # A change in one copied file rebuilds exactly the steps from the COPY that takes it.
    (ctx / "extra.txt").write_text("changed\n")
    third = steps(docker(engine, "build", "--build-arg", "FLAVOUR=spicy", "-t", "multi", str(ctx)).stdout)
    rebuilt = [text for text, cached in third if not cached and not text.startswith(("FROM", "ARG BASE="))]
    assert rebuilt[0] == "ADD extra.txt /copied/", third
    first_change = [t for t, _ in third].index("ADD extra.txt /copied/")
    assert all(not cached for _, cached in third[first_change:])
    assert all(cached for t, cached in third[:first_change] if not t.startswith(("FROM", "ARG BASE=")))


def test_onbuild_trigger_runs_downstream(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    parent = write(tmp_path / "p", {"Dockerfile": f"FROM {busybox}\nONBUILD RUN echo triggered > /t.txt\n"})
    docker(engine, "build", "-t", "onbuild-parent", str(parent))
    child = write(tmp_path / "c", {"Dockerfile": "FROM onbuild-parent\nCMD [\"cat\", \"/t.txt\"]\n"})
    out = docker(engine, "build", "-t", "onbuild-child", str(child)).stdout
    assert "# Executing 1 build trigger...\n" in out, out
    assert docker(engine, "run", "--rm", "onbuild-child").stdout == "triggered\n"
    config = json.loads(docker(engine, "image", "inspect", "onbuild-child").stdout)[0]["Config"]
    assert not config.get("OnBuild")
