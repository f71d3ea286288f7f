"""`pycompose`: the console entry point and its last line of error reporting.

The hot, simple commands — `container run` and `container exec` without a
terminal or stdin — are parsed here without click (fastpath.py) when every
flag given is a plain one, saving such a command most of its start-up:
click, logging, dataclasses. Everything else, and anything the fast parser
is not sure about, goes to the click command line (app.py), so behaviour
and messages stay click's. The names other modules import from here
(`GlobalOptions`, `cli`, `COMMANDS`) load app.py on first use.
"""

from __future__ import annotations

import os
import sys

# Not `typing.TYPE_CHECKING`: importing typing costs ~9 ms, and this module is every command line's
# first step, also of those a CLI server runs (which need nothing else here). Type checkers know the name.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from compose.cli.app import COMMANDS as COMMANDS
    from compose.cli.app import GlobalOptions as GlobalOptions
    from compose.cli.app import LazyGroup as LazyGroup
    from compose.cli.app import cli as cli

_FROM_APP = ("COMMANDS", "GlobalOptions", "LazyGroup", "cli")


def __getattr__(name: str) -> Any:
    if name not in _FROM_APP:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from compose.cli import app

    return getattr(app, name)


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: every error a user causes ends as one line and a non-zero exit."""
    try:
        own = argv is None  # a command line of its own: a CLI server may have everything imported already
        argv = sys.argv[1:] if argv is None else argv
        if argv[:1] == ["docker-cli-plugin-metadata"] or argv[:1] == ["compose"]:
            from compose.cli.plugin import as_plugin  # `docker compose …`, `<binary> compose …`

            argv = as_plugin(argv)
            if argv is None:
                return 0
        if own:
            from compose.cli.warm.client import run_warm

            status = run_warm(argv)
            if status is not None:
                # The command ran in a server's child, and this process did nothing else: end it without
                # the interpreter's teardown (~1.5 ms of every command line), its streams flushed first.
                for stream in (sys.stdout, sys.stderr):
                    try:  # noqa: SIM105 - contextlib is one import more on every command line's path
                        stream.flush()
                    except (OSError, ValueError):
                        pass
                os._exit(status & 0xFF if status >= 0 else 1)
        from compose.cli.fastpath import run_fast

        status = run_fast(argv)
        if status is not None:
            return status
        from compose.cli.app import run

        return run(argv)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # the last line of defence: one line, never a traceback
        from compose.error_base import ComposeError

        if isinstance(exc, ComposeError):
            _echo_err(str(exc))
            sys.exit(1)
        if os.environ.get("PYCOMPOSE_DEBUG"):
            raise
        _echo_err(f"internal error: {type(exc).__name__}: {exc} (set PYCOMPOSE_DEBUG=1 for a traceback)")
        sys.exit(2)


def _echo_err(message: str) -> None:
    import click

    click.echo(message, err=True)
