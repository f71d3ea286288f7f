"""Shell completion, asked the way bash, zsh and fish ask, and the scripts `completion SHELL` prints."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from compose.cli.warm.client import eligible
from tests.compose.cli.runner import run_pycompose
from tests.compose.cli.warm.test_server import PYCOMPOSE, cli_dir, env, warm_up  # noqa: F401

PROJECT = """
services:
  web: {image: busybox}
  worker: {image: busybox}
  db: {image: busybox}
  debug: {image: busybox, profiles: [dev]}
"""


def complete(cwd: Path, line: str, shell: str = "bash") -> tuple[list[str], str]:
    """What the shell gets for the command line `line` (cursor at its end)."""
    words = line.split(" ")
    env = {"_PYCOMPOSE_COMPLETE": f"{shell}_complete", "COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)}
    result = run_pycompose([], cwd, env)
    assert result.returncode == 0, result.stderr
    if shell == "bash":
        return [row.split(",", 1)[1] for row in result.stdout.splitlines() if row], result.stderr
    return result.stdout.splitlines(), result.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "compose.yaml").write_text(PROJECT)
    return tmp_path


@pytest.mark.parametrize("command", ["up", "logs", "stop", "ps", "restart", "pull", "config", "exec", "run"])
def test_service_arguments_offer_the_services(project: Path, command: str) -> None:
    offered, err = complete(project, f"pycompose {command} ")
    assert offered == ["db", "web", "worker"]
    assert err == ""


def test_prefix_and_already_given_services(project: Path) -> None:
    assert complete(project, "pycompose up w")[0] == ["web", "worker"]
    assert complete(project, "pycompose up web ")[0] == ["db", "worker"]


def test_global_options_choose_the_project(project: Path) -> None:
    (project / "other.yaml").write_text("services:\n  api: {image: busybox}\n")
    assert complete(project, "pycompose -f other.yaml logs ")[0] == ["api"]
    assert complete(project, "pycompose --profile dev up ")[0] == ["db", "debug", "web", "worker"]


def test_no_or_broken_project_offers_nothing_and_prints_nothing(tmp_path: Path) -> None:
    assert complete(tmp_path, "pycompose up ") == ([], "")
    (tmp_path / "compose.yaml").write_text("services:\n  web: {image: busybox, depends_on: [nope]}\n  x: [\n")
    assert complete(tmp_path, "pycompose up ") == ([], "")


def test_a_file_on_stdin_is_never_read(project: Path) -> None:
    assert complete(project, "pycompose -f - up ") == ([], "")


def test_commands_complete(project: Path) -> None:
    offered, _ = complete(project, "pycompose gr")
    assert offered == ["graph"]


def test_zsh_completion_request(project: Path) -> None:
    lines, err = complete(project, "pycompose logs ", shell="zsh")
    assert lines[0::3] == ["plain", "plain", "plain"]
    assert lines[1::3] == ["db", "web", "worker"]
    assert err == ""


@pytest.mark.parametrize(("shell", "marker"), [
    ("bash", "complete -o nosort -F _pycompose_completion pycompose"),
    ("zsh", "#compdef pycompose"),
    ("fish", "complete --no-files --command pycompose"),
])
def test_completion_prints_the_script(tmp_path: Path, shell: str, marker: str) -> None:
    result = run_pycompose(["completion", shell], tmp_path)
    assert result.returncode == 0, result.stderr
    assert marker in result.stdout
    assert "_PYCOMPOSE_COMPLETE" in result.stdout


def test_completion_refuses_an_unknown_shell(tmp_path: Path) -> None:
    result = run_pycompose(["completion", "tcsh"], tmp_path)
    assert result.returncode == 2
    assert "tcsh" in result.stderr and "Traceback" not in result.stderr


def test_completion_with_a_cli_server_running_answers_in_process(
        project: Path, cli_dir: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    warm_up(cli_dir)
    line = "pycompose up w"
    result = subprocess.run([PYCOMPOSE], env=env(cli_dir, _PYCOMPOSE_COMPLETE="bash_complete", COMP_WORDS=line,
                                                 COMP_CWORD="2"), cwd=project, capture_output=True, text=True,
                            check=False, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (0, "plain,web\nplain,worker\n", "")
    monkeypatch.setenv("_PYCOMPOSE_COMPLETE", "bash_complete")
    assert not eligible(["up"])  # never handed to the server
