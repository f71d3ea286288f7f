"""`scale SERVICE=N…`: converge the services named to N replicas each, as `up -d --scale` would."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from compose.cli.main import GlobalOptions
from compose.cli.project_cmd import call, load, open_session
from compose.plan.common import check_services

if TYPE_CHECKING:
    from compose.client import EngineClient


@click.command("scale")
@click.argument("replicas", nargs=-1, required=True, metavar="SERVICE=REPLICAS...")
@click.option("--no-deps", is_flag=True, help="Don't start linked services.")
@click.pass_obj
def scale(opts: GlobalOptions, replicas: tuple[str, ...], no_deps: bool) -> None:
    """Scale services."""
    from compose.cli.up import parse_scale
    from compose.plan import UpOptions

    wanted = parse_scale(replicas)
    project = load(opts, tuple(wanted))
    check_services(project, wanted)
    options = UpOptions(services=tuple(sorted(wanted)), no_deps=no_deps, scale=wanted)

    async def flow(client: EngineClient) -> None:
        await open_session(client, opts, project).converge(options)

    call(flow)
