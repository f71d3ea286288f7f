"""`top`: the running processes of the services' containers, one table each."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from compose.cli.main import GlobalOptions
from compose.cli.project_cmd import call, load
from compose.session import observe

if TYPE_CHECKING:
    from compose.client import EngineClient


@click.command("top")
@click.argument("services", nargs=-1)
@click.pass_obj
def top(opts: GlobalOptions, services: tuple[str, ...]) -> None:
    """Display the running processes."""
    from compose.cli.tables import process_table
    from compose.plan.common import check_services

    project = load(opts, services)
    check_services(project, services)

    async def flow(client: EngineClient) -> None:
        observed = await observe(client, project.name)
        chosen = sorted((c for name in (services or project.services) for c in observed.service_containers(name)
                         if c.state in ("running", "paused")), key=lambda c: c.name)
        for c in chosen:
            found = await (await client.get(f"/containers/{c.id}/top")).json() or {}
            click.echo(f"{c.name}\n{process_table(found)}")

    call(flow)
