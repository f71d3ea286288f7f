"""`COPY --link` copies onto an empty root, as buildkit: symlinks on the destination are not followed
(they are replaced), where a plain COPY follows them; through the real docker CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine_fixture import EngineHandle
from tests.runtime.build.clients import docker, write

pytestmark = pytest.mark.root


def test_copy_link_does_not_follow_destination_symlinks(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {
        "Dockerfile": f"FROM {busybox}\n"
                      "RUN mkdir /real /real2 && ln -s /real /link && ln -s /real2 /plain && echo old > /target "
                      "&& ln -s /target /flink\n"
                      "COPY --link f /link/\nCOPY f /plain/\nCOPY --link g /flink\n"
                      "RUN ls /real /real2; test -d /link && test ! -L /link && test -L /plain && test -f /real2/f "
                      "&& test ! -e /real/f && test ! -L /flink && cat /link/f /flink /target\n",
        "f": "f\n", "g": "g\n",
    })
    out = docker(engine, "build", "-t", "link:1", str(ctx)).stdout
    assert "f\ng\nold\n" in out, out
    history = docker(engine, "history", "--no-trunc", "--format", "{{.CreatedBy}}", "link:1").stdout
    assert " COPY --link file:" in history and " COPY file:" in history
    again = docker(engine, "build", "-t", "link:1", str(ctx)).stdout
    assert "Running in" not in again
