"""`pycompose logs`: the services' output with `web-1  | ` prefixes; -f follows.

With -f, the engine's events are subscribed before the containers are
listed, so a container created or restarted later is followed too; the
command ends when every followed container has stopped (or on Ctrl-C).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from compose.cli.main import GlobalOptions
from compose.cli.project_cmd import call, load, use_color
from compose.errors import ComposeError

if TYPE_CHECKING:
    from compose.client import EngineClient


def _time(value: str | None, flag: str) -> str | None:
    from compose.cli.container_rows import parse_timestamp

    return str(parse_timestamp(value, flag)) if value else None


@click.command("logs")
@click.argument("services", nargs=-1)
@click.option("-f", "--follow", is_flag=True, help="Follow log output.")
@click.option("-n", "--tail", default="all", help='Number of lines to show from the end of the logs ("all").')
@click.option("--since", default=None, help="Logs since a timestamp (RFC 3339, Unix) or relative (42m).")
@click.option("--until", default=None, help="Logs before a timestamp (RFC 3339, Unix) or relative (42m).")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps.")
@click.option("--no-color", is_flag=True, help="Produce monochrome output.")
@click.option("--no-log-prefix", is_flag=True, help="Don't print prefix in logs.")
@click.option("--index", type=int, default=None, help="Index of the container if the service has replicas.")
@click.pass_obj
def logs(opts: GlobalOptions, services: tuple[str, ...], follow: bool, tail: str, since: str | None,
         until: str | None, timestamps: bool, no_color: bool, no_log_prefix: bool, index: int | None) -> None:
    """View output from containers."""
    from compose.logstream import LogOptions, LogPrinter, ProjectLogs

    project = load(opts, services, by_name=True)
    for name in services:
        if project.services and name not in project.services:
            raise ComposeError(f"no such service: {name}")
    if index is not None and len(services) != 1:
        raise click.UsageError("--index requires exactly one service")
    options = LogOptions(follow=follow, tail=tail, since=_time(since, "--since"), until=_time(until, "--until"),
                         timestamps=timestamps)
    printer = LogPrinter(sys.stdout.buffer, sys.stderr.buffer, color=use_color(opts, no_color),
                         prefix=not no_log_prefix)

    async def work(client: EngineClient) -> None:
        reader = ProjectLogs(client, project.name, printer, options,
                             services=frozenset(services) if services else None, index=index)
        if not follow:
            await reader.show()
            return
        subscription = await reader.subscribe()
        try:
            await reader.follow(subscription, await reader.containers())
        finally:
            await subscription.aclose()

    call(work)
