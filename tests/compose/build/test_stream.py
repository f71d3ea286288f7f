"""An engine's build errors as one line, and the JSON messages of its stream; pure."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.build.spec import BuildSpec
from compose.build.stream import _messages, one_line


@pytest.mark.parametrize(("message", "line"), [
    ("dockerfile parse error on line 12: unknown instruction: FOO", "{df}:12: unknown instruction: FOO"),
    ("Dockerfile parse error line 2: unknown instruction: FOO", "{df}:2: unknown instruction: FOO"),  # dockerd 20.10
    ("The command '/bin/sh -c exit 3' returned a non-zero code: 3",
     "service \"web\" failed to build: The command '/bin/sh -c exit 3' returned a non-zero code: 3"),
    ("", 'service "web" failed to build: the build failed'),
])
def test_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, message: str, line: str) -> None:
    monkeypatch.chdir(tmp_path)
    spec = BuildSpec("web", "p-web", tmp_path, tmp_path / "app" / "Dockerfile")
    assert str(one_line(spec, message)) == line.format(df="app/Dockerfile")
    inline = BuildSpec("web", "p-web", tmp_path, None, inline="FROM x\n")
    if "parse error" in message:
        assert str(one_line(inline, message)).startswith("service 'web' dockerfile_inline:")


def test_messages_split_anywhere() -> None:
    text = '{"stream":"Step 1/2 : FROM busybox\\n"}\r\n{"aux":{"ID":"sha256:ab"}}{"stream":"par'
    messages, rest = _messages(text)
    assert messages == [{"stream": "Step 1/2 : FROM busybox\n"}, {"aux": {"ID": "sha256:ab"}}]
    assert rest == '{"stream":"par'
