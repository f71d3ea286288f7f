"""What every project command (up, down, ps, logs, start…) shares.

Load the project (or, for commands that can work by name alone, a project
with no services when `-p NAME` is given without a compose file), reach the
engine ($DOCKER_HOST or the default socket, auto-started by `ensure_engine`),
read its observed state, and run a plan with the progress display the
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
from compose.errors import ComposeError, ComposeFileError, warn
from compose.model import Project

if TYPE_CHECKING:
    from compose.client import EngineClient
    from compose.observed import ObservedState
    from compose.plan import Plan
    from compose.progress import Progress

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


def known_services(opts: GlobalOptions, project: Project, observed: ObservedState) -> frozenset[str]:
    """Services the files define under any profile: their containers are not orphans.

    The second load (every profile enabled) only happens when there are
    containers the active services do not explain.
    """
    from compose.loader.project import load_project

    if not project.services or not observed.orphans(project.services):
        return frozenset()
    try:
        full = load_project(load_options(opts, profiles=("*",))).project
    except ComposeError:
        return frozenset()
    return frozenset(full.services)


def call(func: Callable[[EngineClient], Awaitable[T]], host: str | None = None) -> T:
    """Run `func(client)` against the engine (started first if it is the default one)."""
    from compose.cli.engine_auto import ensure_engine
    from compose.client import run_sync

    host = host or engine_host()
    ensure_engine(host)
    return run_sync(host, lambda client: _unwrapped(func(client)))


async def _unwrapped(work: Awaitable[T]) -> T:
    """A lone error out of task groups, as itself: the user gets its one line."""
    try:
        return await work
    except BaseExceptionGroup as group:
        leaves = _leaves(group)
        if len(leaves) == 1:
            raise leaves[0] from None
        errors = [leaf for leaf in leaves if isinstance(leaf, ComposeError)]
        if errors:
            raise errors[0] from None
        raise


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        out += _leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
    return out


def use_color(opts: GlobalOptions, no_color: bool = False) -> bool:
    """Colour for container output: --ansi, else only on a terminal."""
    if no_color or opts.ansi == "never":
        return False
    return opts.ansi == "always" or sys.stdout.isatty()


def progress(opts: GlobalOptions, title: str = "Running") -> Progress:
    from compose.progress import make_progress

    return make_progress(opts.progress, sys.stderr, opts.ansi, title)


async def observe(client: EngineClient, project: Project) -> ObservedState:
    from compose.executor import observe as observe_engine

    return await observe_engine(client, project.name)


async def execute(client: EngineClient, opts: GlobalOptions, plan: Plan, title: str = "Running") -> dict[str, str]:
    """Print the plan's warnings, then run it under the progress display."""
    from compose.executor import EngineExecutor
    from compose.scheduler import DONE, ProgressEvent, run_plan

    for message in plan.warnings:
        warn(message)
    if not plan and not plan.unchanged:
        return {}
    with progress(opts, title) as display:
        for resource in plan.unchanged:  # Docker Compose lists what it left alone as Running
            display.event(ProgressEvent(resource, "Running", DONE, 0.0))
        return await run_plan(plan, EngineExecutor(client), parallel=opts.parallel, on_event=display.event)


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
