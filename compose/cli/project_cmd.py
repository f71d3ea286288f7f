"""What every project command (up, down, ps, logs, start…) shares.

Load the project (or, for commands that can work by name alone, a project
with no services when `-p NAME` is given without a compose file), reach the
engine ($DOCKER_HOST or the default socket, auto-started by `ensure_engine`),
and open a `compose.session.Session` on it with the progress display the
global `--progress`/`--ansi` options ask for.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from compose.cli.main import GlobalOptions
from compose.cli.options import load_options
from compose.client.place import default_host
from compose.errors import ComposeFileError
from compose.model import Project

if TYPE_CHECKING:
    from compose.client import EngineClient
    from compose.progress import Progress
    from compose.session import Session

T = TypeVar("T")
_NO_FILE = "no configuration file provided"


def engine_host() -> str:
    return os.environ.get("DOCKER_HOST") or default_host()


def bare_project(name: str) -> Project:
    """A project known only by name: commands then act on whatever carries its label."""
    empty: dict[str, Any] = {}
    return Project(name, Path.cwd(), (), (), empty, empty, empty, empty, empty)


def load(opts: GlobalOptions, services: Iterable[str] = (), *, by_name: bool = False) -> Project:
    """The project; with `by_name`, `-p NAME` alone (no compose file found) is enough."""
    from compose.loader.project import load_project

    try:
        return load_project(load_options(opts, tuple(services))).project
    except ComposeFileError as exc:
        if by_name and (opts.project_name or os.environ.get("COMPOSE_PROJECT_NAME")) and \
                exc.message.startswith(_NO_FILE):
            from compose.loader.discovery import check_project_name

            name = opts.project_name or os.environ["COMPOSE_PROJECT_NAME"]
            return bare_project(check_project_name(name, "-p"))
        raise


def call(func: Callable[[EngineClient], Awaitable[T]], host: str | None = None) -> T:
    """Run `func(client)` against the engine (started first if it is the default one)."""
    from compose.engine_reach import ensure_engine
    from compose.session import run_sync

    host = host or engine_host()
    ensure_engine(host)
    return run_sync(host, func)


def use_color(opts: GlobalOptions, no_color: bool = False) -> bool:
    """Colour for container output: --ansi, else only on a terminal."""
    if no_color or opts.ansi == "never":
        return False
    return opts.ansi == "always" or sys.stdout.isatty()


def progress(opts: GlobalOptions, title: str = "Running") -> Progress:
    from compose.progress import make_progress

    return make_progress(opts.progress, sys.stderr, opts.ansi, title)


def open_session(client: EngineClient, opts: GlobalOptions, project: Project) -> Session:
    """The session a command works through: its load options, `--parallel`, and `--progress` as the display."""
    from compose.session import Session

    loaded = load_options(opts) if project.services else None
    return Session(client, project, loaded, opts.parallel, lambda title: progress(opts, title), opts.dry_run)


async def step(display: Progress, resource: str, working: str, done: str, work: Awaitable[object]) -> None:
    """One operation outside a plan (kill, image removal) shown as the plan's are."""
    import anyio

    from compose.scheduler import DONE, ERROR, WORKING, ProgressEvent

    began = anyio.current_time()
    display.event(ProgressEvent(resource, working, WORKING))
    try:
        await work
    except Exception as exc:
        display.event(ProgressEvent(resource, "Error", ERROR, anyio.current_time() - began, str(exc)))
        raise
    display.event(ProgressEvent(resource, done, DONE, anyio.current_time() - began))
