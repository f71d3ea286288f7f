"""What the docker-style command groups (`image`, `container`, `volume`, `network`) share.

A group takes `-H/--host` (env DOCKER_HOST), keeps the engine it talks to in
`ctx.obj` as a `Target`, and knows docker's aliases for its subcommands
(`ls`/`list`, `rm`/`remove`). `Target.call` makes sure the engine runs and
runs one async function against it. The shapes every group's commands take
live here too: act on each name in turn (`each`), `inspect`, and `prune`'s
question and request.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from compose.client.place import default_host
from compose.engine_reach import ensure_engine

if TYPE_CHECKING:
    from compose.client import EngineClient

T = TypeVar("T")
Action = Callable[["EngineClient", str], Awaitable[Any]]


@dataclass(frozen=True)
class Target:
    """The engine a command talks to."""

    host: str

    def call(self, func: Callable[[EngineClient], Awaitable[T]]) -> T:
        from compose.client import run_sync

        ensure_engine(self.host)
        return run_sync(self.host, func)


pass_target = click.make_pass_decorator(Target)


class AliasGroup(click.Group):
    """A group whose subcommands also answer to docker's other names for them."""

    def __init__(self, *args: Any, aliases: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.aliases = dict(aliases or {})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, self.aliases.get(cmd_name, cmd_name))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.commands[name]
            others = [a for a, n in self.aliases.items() if n == name]
            label = ", ".join([name, *others])
            rows.append((label, command.get_short_help_str(limit=80)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def engine_group(name: str, help: str, aliases: Mapping[str, str]) -> click.Group:
    """A command group with `-H/--host` whose commands get a `Target`."""

    @click.group(name, cls=AliasGroup, aliases=aliases, help=help,
                 context_settings={"help_option_names": ["-h", "--help"]})
    @click.option("-H", "--host", envvar="DOCKER_HOST", default=None, metavar="unix:///PATH",
                  help="Engine socket (env DOCKER_HOST; default /run/pycompose/engine.sock).")
    @click.pass_context
    def group(ctx: click.Context, host: str | None) -> None:
        ctx.obj = Target(host or default_host())

    return group


def fail(messages: list[str]) -> None:
    """Docker's way with several objects: report each failure, then exit 1."""
    if messages:
        for message in messages:
            print(message, file=sys.stderr)
        raise click.exceptions.Exit(1)


def parse_filters(values: tuple[str, ...]) -> dict[str, list[str]]:
    """`--filter key=value` (repeatable) -> Docker's filters mapping."""
    out: dict[str, list[str]] = {}
    for value in values:
        key, sep, arg = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"bad format of filter (expected name=value): {value!r}", param_hint="--filter")
        out.setdefault(key.strip().lower(), []).append(arg)
    return out


def confirm(prompt: str) -> bool:
    """Docker's `[y/N]` question on stdout, the answer from stdin (no answer is no)."""
    sys.stdout.write(f"{prompt} [y/N] ")
    sys.stdout.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() == "y"


def each(target: Target, names: tuple[str, ...], action: Action, echo: bool = True,
         missing_ok: bool = False) -> None:
    """Apply `action` to every name in turn: print what worked, report what failed, exit 1.

    `echo` prints the name (or what `action` returned instead); `missing_ok`
    skips a 404 silently, as `network rm -f` does.
    """
    from compose.client import EngineConnectionError, EngineError

    async def work(client: EngineClient) -> list[str]:
        errors = []
        for name in names:
            try:
                result = await action(client, name)
            except EngineConnectionError:
                raise
            except EngineError as exc:
                if not (missing_ok and exc.status == 404):
                    errors.append(str(exc))
                continue
            if echo:
                print(name if result is None else result, flush=True)
        return errors

    fail(target.call(work))


def inspect_each(target: Target, names: tuple[str, ...], fmt: str | None, path: str,
                 params: Mapping[str, Any] | None = None) -> None:
    """docker's `inspect`: GET `path.format(name)` for each name, print what was found, then the 404s (exit 1).

    Any other error stops the command; with a template and nothing found,
    docker prints nothing but the errors.
    """
    from compose.cli import tables
    from compose.client import EngineError

    async def work(client: EngineClient) -> tuple[list[Any], list[str]]:
        found, errors = [], []
        for name in names:
            try:
                found.append(await (await client.get(path.format(name), params)).json())
            except EngineError as exc:
                if exc.status != 404:
                    raise
                errors.append(str(exc))
        return found, errors

    found, errors = target.call(work)
    if found or not errors or not fmt:
        sys.stdout.write(tables.render_inspect(found, fmt))
    fail(errors)


def confirm_and_prune(target: Target, path: str, filters: Mapping[str, list[str]], warning: str, force: bool,
                      report: Callable[[Mapping[str, Any]], str]) -> None:
    """docker's `… prune`: ask (unless `force`), POST `path` with the filters, print the report."""
    if not force and not confirm(f"{warning}\nAre you sure you want to continue?"):
        return

    async def work(client: EngineClient) -> Any:
        return await (await client.post(path, {"filters": filters or None})).json()

    sys.stdout.write(report(target.call(work) or {}))
