"""On dockerd (not our engine) compose refuses build secrets and additional contexts in one line: the
classic protocol cannot carry them and dockerd knows nothing of our extension."""

from __future__ import annotations

from pathlib import Path

from tests.compose.client import dockerd
from tests.compose.client.test_dockerd import daemon, run

__all__ = ["daemon"]  # the fixture: a dockerd of the module's own

PROJECT = """
secrets:
  token: {file: ./token.txt}
services:
  app:
    build: {context: ., secrets: [token], additional_contexts: {extra: ./extra}}
"""


def test_secrets_and_additional_contexts_are_refused_in_one_line(daemon: dockerd.Dockerd, tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(PROJECT)
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN --mount=type=secret,id=token cat /run/secrets/token\n")
    (tmp_path / "token.txt").write_text("t")
    (tmp_path / "extra").mkdir()
    result = run(daemon, tmp_path, "-p", "ext", "build")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith(
        'service "app": build: secrets, additional_contexts: need BuildKit, and the engine speaks the classic '
        "builder protocol"), result.stderr
