"""The CLI's fast path (compose/cli/fastpath.py).

What must hold: the fast parser's tables are click's declarations; whatever
it accepts, click parses to the same parameters; whatever it is unsure of
goes to click; and a command run either way prints, calls and exits alike.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compose.cli import fastpath
from compose.cli.app import cli
from compose.cli.container import container
from compose.cli.container_run import exec_, run
from compose.cli.engine_group import Target
from compose.cli.fastpath import (
    EXEC_OPTIONS,
    FLAG,
    GROUP_OPTIONS,
    INT,
    MULTI,
    RUN_OPTIONS,
    VALUE,
    ended_as_click_ends,
    parse,
    run_fast,
)
from tests.compose.cli.fake_engine import FakeEngine, fake_engine

FAST = "import sys; from compose.cli.main import main; sys.exit(main())"
FORCE_CLICK = ("import sys; import compose.cli.fastpath as f; f.run_fast = lambda argv: None; "
               "from compose.cli.main import main; sys.exit(main())")
REPORT_MODULES = ("import sys; from compose.cli.main import main; code = main(); "
                  "print(sorted(m for m in ('click', 'logging', 'dataclasses', 'anyio') if m in sys.modules), "
                  "file=sys.stderr); sys.exit(code)")


def click_table(command: click.Command) -> dict[str, tuple[str, str]]:
    out = {}
    for param in command.params:
        if not isinstance(param, click.Option):
            continue
        if param.is_flag:
            kind = FLAG
        elif param.multiple:
            kind = MULTI
        elif isinstance(param.type, click.types.IntParamType):
            kind = INT
        else:
            assert isinstance(param.type, click.types.StringParamType), param.name
            kind = VALUE
        assert param.nargs == 1 and param.name
        for opt in (*param.opts, *param.secondary_opts):
            out[opt] = (param.name, kind)
    return out


def test_tables_are_clicks() -> None:
    assert click_table(run) == RUN_OPTIONS
    assert click_table(exec_) == EXEC_OPTIONS
    assert click_table(container) == GROUP_OPTIONS
    (host,) = (p for p in container.params if p.name == "host")
    assert host.envvar == fastpath.HOST_ENV
    for command in (run, exec_):
        ctx = click.Context(command, **command.context_settings)
        assert ctx.allow_interspersed_args is False and ctx.ignore_unknown_options is False
        assert set(ctx.help_option_names) == {"--help"}  # -h is --hostname for run
        first, rest = (p for p in command.params if isinstance(p, click.Argument))
        assert (first.nargs, rest.nargs, rest.type) == (1, -1, click.UNPROCESSED)
    assert set(click.Context(container, **container.context_settings).help_option_names) == {"-h", "--help"}


def click_parse(argv: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """What click hands the run/exec callback for `argv`, and the engine host the group chose."""
    captured: dict[str, Any] = {}

    def capture(**kwargs: Any) -> None:
        captured.update(kwargs)
        captured["__host"] = click.get_current_context().find_object(Target).host  # type: ignore[union-attr]

    # setup_logging would leave its handler (and propagate=False) on the "pycompose" logger for later tests
    with mock.patch.object(run, "callback", capture), mock.patch.object(exec_, "callback", capture), \
            mock.patch("compose.cli.app.setup_logging"):
        cli.main(args=list(argv), prog_name="pycompose", standalone_mode=False)
    return captured.pop("__host"), captured


def assert_like_click(argv: Sequence[str]) -> None:
    parsed = parse(argv)
    if parsed is None:
        return
    option, _, values = parsed
    host, params = click_parse(argv)
    assert (fastpath.target_host(option), values) == (host, params)


@pytest.mark.parametrize("argv", [
    ["container", "run", "--rm", "busybox", "true"],
    ["container", "run", "busybox"],
    ["container", "run", "-d", "--name", "web", "-e", "A=1", "-e", "B", "--env=C=3", "-v", "/a:/b", "-p", "80",
     "-l", "k=v", "-w", "/tmp", "-u", "1000:1000", "-h", "box", "--net", "none", "--pids-limit", "-1",
     "--stop-timeout", "3", "--entrypoint=", "-m", "64m", "--cpus", "1.5", "--read-only", "--init", "-P",
     "busybox", "sh", "-c", "echo $A", "-it", "--help", "--", "-"],
    ["container", "run", "--name", "a", "--name", "b", "--restart", "no", "busybox", "--rm"],
    ["container", "run", "-e", "-d", "busybox"],
    ["container", "run", "-", "x"],
    ["container", "-H", "unix:///tmp/x.sock", "run", "busybox"],
    ["container", "--host=unix:///tmp/y.sock", "-H", "", "exec", "c", "ls", "-l"],
    ["container", "exec", "-d", "-e", "X=1", "-u", "0", "-w", "/", "--privileged", "c", "true"],
    ["container", "exec", "c", "--", "true"],
])
@pytest.mark.parametrize("docker_host", [None, "", "unix:///tmp/env.sock"])
def test_accepted_command_lines_parse_as_click_parses_them(argv: list[str], docker_host: str | None) -> None:
    environ = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    if docker_host is not None:
        environ["DOCKER_HOST"] = docker_host
    with mock.patch.dict(os.environ, environ, clear=True):
        assert parse(argv) is not None
        assert_like_click(argv)


TOKENS = st.sampled_from([
    *RUN_OPTIONS, *EXEC_OPTIONS, "--rm=1", "--name=x", "-dt", "-eA=1", "--help", "--", "-", "--bogus", "-x",
    "busybox", "true", "echo", "a=b", "", "7", "-1", "x y", "/data", "--env=", "-H",
])


@settings(max_examples=300, deadline=None)
@given(head=st.sampled_from([["container"], ["container", "-H", "unix:///tmp/h.sock"], ["container", "--host=/x"]]),
       command=st.sampled_from(["run", "exec"]), tokens=st.lists(TOKENS, max_size=8))
def test_whatever_the_fast_parser_accepts_click_parses_alike(head: list[str], command: str,
                                                             tokens: list[str]) -> None:
    assert_like_click([*head, command, *tokens])


@pytest.mark.parametrize("argv", [
    [],
    ["--help"],
    ["-f", "compose.yaml", "container", "run", "busybox"],
    ["container"],
    ["container", "--help", "run", "busybox"],
    ["container", "-H"],
    ["container", "ls"],
    ["container", "run"],
    ["container", "run", "--help"],
    ["container", "run", "-it", "busybox", "sh"],
    ["container", "run", "-i", "busybox", "cat"],
    ["container", "run", "--tty", "busybox", "sh"],
    ["container", "run", "-dP", "busybox"],
    ["container", "run", "-eA=1", "busybox"],
    ["container", "run", "--rm=yes", "busybox"],
    ["container", "run", "--bogus", "busybox"],
    ["container", "run", "--", "busybox"],
    ["container", "run", "--name"],
    ["container", "run", "--pids-limit", "many", "busybox"],
    ["container", "exec", "c"],
    ["container", "exec", "-h", "c", "true"],
    ["container", "exec", "-it", "c", "sh"],
    ["container", "start", "c"],
])
def test_what_it_is_unsure_of_goes_to_click(argv: list[str]) -> None:
    assert parse(argv) is None
    assert run_fast(argv) is None


def test_run_fast_leaves_to_click_what_click_must_say(tmp_path: Path) -> None:
    absent = f"unix://{tmp_path}/absent.sock"
    plain = ["container", "-H", absent, "run", "--rm", "busybox", "true"]
    assert parse(plain) is not None
    assert run_fast(plain) is None  # no engine there: the click path starts it or explains
    assert run_fast(["container", "-H", "tcp://1.2.3.4:2375", "run", "busybox"]) is None
    with fake_engine() as fake:
        live = ["container", "-H", fake.host, "run"]
        assert run_fast([*live, "-p", "bad", "busybox"]) is None
        assert run_fast([*live, "--env-file", str(tmp_path / "missing.env"), "busybox"]) is None
        assert run_fast([*live, "--rm", "--restart", "always", "busybox"]) is None
        assert run_fast(["container", "-H", fake.host, "exec", "-e", "=x", "c", "true"]) is None
        with mock.patch.dict(os.environ, {"_PYCOMPOSE_COMPLETE": "bash_complete"}):
            assert run_fast([*live, "busybox"]) is None
        with mock.patch.dict(os.environ, {"COMPOSE_PARALLEL_LIMIT": "lots"}):
            assert run_fast([*live, "busybox"]) is None
        assert fake.calls == []


# the same commands both ways, against the fake engine


@pytest.fixture
def fake() -> Iterator[FakeEngine]:
    with fake_engine() as engine:
        yield engine


def environ(extra: Mapping[str, str]) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp", **extra}


def both_ways(fake: FakeEngine, args: Sequence[str],
              env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run `pycompose container ARGS` as it is (fast path) and with the fast path off: they agree."""
    results, calls = [], []
    for code in (FAST, FORCE_CLICK):
        fake.calls.clear()
        env_ = environ({"DOCKER_HOST": fake.host, **(env or {})})
        results.append(subprocess.run([sys.executable, "-c", code, "container", *args], env=env_,
                                      stdin=subprocess.DEVNULL, capture_output=True, timeout=30, check=False))
        calls.append(list(fake.calls))
    fast, slow = results
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)
    assert calls[0] == calls[1]
    return fast


@pytest.mark.parametrize(("args", "code", "stdout", "stderr"), [
    (["run", "busybox", "echo", "hello", "-l"], 0, b"hello -l\n", b""),
    (["run", "--rm", "--name", "f", "busybox", "fail", "3"], 3, b"", b"failing\n"),
    (["run", "-l", "a=b", "-e", "X=1", "busybox", "echo", "hi"], 0, b"hi\n", b"WARNING: fake warning\n"),
    (["run", "nosuch", "true"], 125, b"", None),
    (["run", "busybox", "missing"], 127, b"", None),
    (["run", "-p", "bad", "busybox"], 2, b"", None),
    (["run", "-it", "busybox", "sh"], 1, b"", b"Error: the input device is not a TTY\n"),
    (["exec", "nosuch", "true"], 125, b"", None),
])
def test_fast_and_click_paths_agree(fake: FakeEngine, args: list[str], code: int, stdout: bytes,
                                    stderr: bytes | None) -> None:
    result = both_ways(fake, args)
    assert (result.returncode, result.stdout) == (code, stdout)
    assert stderr is None or result.stderr == stderr


def test_detach_and_exec_agree(fake: FakeEngine) -> None:
    argv = [sys.executable, "-c", FAST, "container", "run", "-d", "--name", "bg", "busybox", "sleep"]
    detached = subprocess.run(argv, env=environ({"DOCKER_HOST": fake.host}), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=30, check=False)
    assert (detached.returncode, detached.stdout, detached.stderr) == (0, f"{1:064x}\n".encode(), b"")
    assert fake.calls == ["create", "start"]
    assert both_ways(fake, ["exec", "bg", "echo", "in", "bg"]).stdout == b"echo in bg\n"


def test_engine_unreachable_agrees(fake: FakeEngine, tmp_path: Path) -> None:
    result = both_ways(fake, ["-H", f"unix://{tmp_path}/none.sock", "run", "busybox"])
    assert result.returncode == 1 and b"start it with `pycompose engine start --host" in result.stderr


def test_the_fast_path_imports_neither_click_nor_logging(fake: FakeEngine) -> None:
    def modules(code: str) -> tuple[int, str]:
        # In this very process, not in a CLI server's child: the imports counted are this process's.
        done = subprocess.run([sys.executable, "-c", code, "container", "run", "busybox", "echo", "x"],
                              env=environ({"DOCKER_HOST": fake.host, "PYCOMPOSE_CLI_SERVER": "0"}),
                              stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=30, check=False)
        return done.returncode, done.stderr.decode().strip()

    assert modules(REPORT_MODULES) == (0, "[]")
    code, slow = modules(REPORT_MODULES.replace("from compose.cli.main", "import compose.cli.fastpath as f; "
                                                "f.run_fast = lambda argv: None; from compose.cli.main"))
    assert code == 0 and "'click'" in slow  # the check sees them when they are there


def test_endings_are_clicks(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(exc: BaseException) -> Callable[[], int]:
        def work() -> int:
            raise exc

        return work

    assert ended_as_click_ends(lambda: 7) == 7
    assert ended_as_click_ends(fail(KeyboardInterrupt())) == 130
    assert ended_as_click_ends(fail(EOFError())) == 130
    assert capsys.readouterr().err == "\naborted\n" * 2
    monkeypatch.setattr(sys, "stdout", sys.stdout)
    monkeypatch.setattr(sys, "stderr", sys.stderr)
    assert ended_as_click_ends(fail(BrokenPipeError(errno.EPIPE, "Broken pipe"))) == 1
    sys.stdout.flush()  # the wrapper's
    with pytest.raises(ConnectionResetError):
        ended_as_click_ends(fail(ConnectionResetError(errno.ECONNRESET, "reset")))
