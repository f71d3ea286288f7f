"""`docker build` flags and context forms: --target, --build-arg, -f -, stdin tar, -q, --label,
--no-cache, a failing RUN, a bad Dockerfile."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from tests.engine_fixture import EngineHandle
from tests.runtime.build.clients import docker, steps, write

pytestmark = pytest.mark.root

STAGES = """\
FROM busybox AS one
RUN echo one > /one.txt
FROM busybox AS two
RUN echo two > /two.txt
FROM one AS three
RUN echo three > /three.txt
"""


def test_target_builds_only_the_stages_it_needs(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    ctx = write(tmp_path, {"Dockerfile": STAGES})
    out = docker(engine, "build", "--target", "one", "-t", "staged", str(ctx)).stdout
    texts = [t for t, _ in steps(out)]
    assert texts == ["FROM busybox AS one", "RUN echo one > /one.txt"], out
    assert docker(engine, "run", "--rm", "staged", "cat", "/one.txt").stdout == "one\n"
    full = docker(engine, "build", "-t", "staged", str(ctx)).stdout
    assert [t for t, _ in steps(full)] == ["FROM busybox AS one", "RUN echo one > /one.txt",
                                           "FROM one AS three", "RUN echo three > /three.txt"], full
    bad = docker(engine, "build", "--target", "nope", str(ctx), check=False)
    assert bad.returncode != 0 and "failed to reach build target nope in Dockerfile" in bad.stderr


def test_dockerfile_from_stdin_and_context_tar(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {"file.txt": "from the context\n"})
    dockerfile = "FROM busybox\nCOPY file.txt /\nCMD [\"cat\", \"/file.txt\"]\n"
    docker(engine, "build", "-f", "-", "-t", "stdin-df", str(ctx), input=dockerfile)
    assert docker(engine, "run", "--rm", "stdin-df").stdout == "from the context\n"
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        for name, text in (("Dockerfile", dockerfile), ("file.txt", "from a tar\n")):
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text.encode()))
    docker(engine, "build", "-t", "stdin-tar", "-", input=data.getvalue())
    assert docker(engine, "run", "--rm", "stdin-tar").stdout == "from a tar\n"


def test_quiet_label_no_cache_and_unused_args(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    ctx = write(tmp_path, {"Dockerfile": "FROM busybox\nARG USED=x\nRUN echo $USED > /used\n"})
    quiet = docker(engine, "build", "-q", "--label", "team=build", "--build-arg", "USED=y",
                   "--build-arg", "UNUSED=z", "-t", "quiet", str(ctx))
    image_id = quiet.stdout.strip()
    assert image_id.startswith("sha256:") and "Step" not in quiet.stdout, quiet.stdout
    info = json.loads(docker(engine, "image", "inspect", "quiet").stdout)[0]
    assert info["Id"] == image_id and info["Config"]["Labels"] == {"team": "build"}
    assert docker(engine, "run", "--rm", "quiet", "cat", "/used").stdout == "y\n"
    loud = docker(engine, "build", "--build-arg", "USED=y", "--build-arg", "UNUSED=z", str(ctx)).stdout
    assert "[Warning] One or more build-args [UNUSED] were not consumed" in loud, loud
    fresh = docker(engine, "build", "--no-cache", "--build-arg", "USED=y", str(ctx)).stdout
    assert not any(cached for _, cached in steps(fresh)), fresh


def test_failing_run_gives_its_exit_code(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    ctx = write(tmp_path, {"Dockerfile": "FROM busybox\nRUN echo before && exit 3\n"})
    result = docker(engine, "build", "--force-rm", str(ctx), check=False)
    assert result.returncode == 3, (result.returncode, result.stdout, result.stderr)
    assert "The command '/bin/sh -c echo before && exit 3' returned a non-zero code: 3" in result.stderr
    assert "before" in result.stdout
    assert docker(engine, "ps", "-aq").stdout.strip() == ""


def test_bad_dockerfile_is_a_clear_error(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    ctx = write(tmp_path, {"Dockerfile": "FROM busybox\nFOO bar\n"})
    result = docker(engine, "build", str(ctx), check=False)
    assert result.returncode != 0
    assert "dockerfile parse error on line 2: unknown instruction: FOO" in result.stderr, result.stderr
    missing = docker(engine, "build", "-f", "Nope", str(ctx), check=False)
    assert missing.returncode != 0 and "Nope" in missing.stderr, missing.stderr


def test_dockerignore_exceptions_hold(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    ctx = write(tmp_path, {"Dockerfile": "FROM busybox\nCOPY . /ctx/\nRUN find /ctx -type f | sort > /list\n",
                           ".dockerignore": "*.log\n!keep.log\nsecret/\nDockerfile\n",
                           "a.log": "x", "keep.log": "k", "secret/key": "s", "code.txt": "c"})
    docker(engine, "build", "-t", "ignored", str(ctx))
    listing = docker(engine, "run", "--rm", "ignored", "cat", "/list").stdout.split()
    assert listing == ["/ctx/.dockerignore", "/ctx/code.txt", "/ctx/keep.log"], listing


def test_independent_stages_both_built(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    ctx = write(tmp_path, {"Dockerfile": (
        "FROM busybox AS left\nRUN sleep 1 && echo left > /l\n"
        "FROM busybox AS right\nRUN sleep 1 && echo right > /r\n"
        "FROM busybox\nCOPY --from=left /l /\nCOPY --from=right /r /\n")})
    out = docker(engine, "build", "-t", "joined", str(ctx)).stdout
    texts = [t for t, _ in steps(out)]
    assert texts == ["FROM busybox AS left", "RUN sleep 1 && echo left > /l", "FROM busybox AS right",
                     "RUN sleep 1 && echo right > /r", "FROM busybox", "COPY --from=left /l /",
                     "COPY --from=right /r /"], out
    assert docker(engine, "run", "--rm", "joined", "cat", "/l", "/r").stdout == "left\nright\n"


def test_a_bad_from_word_is_a_400(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    ctx = write(tmp_path, {"Dockerfile": "FROM ${BASE\n"})
    result = docker(engine, "build", str(ctx), check=False)
    assert result.returncode != 0 and "Error response from daemon" in result.stderr, result.stderr
    assert "500" not in result.stderr
