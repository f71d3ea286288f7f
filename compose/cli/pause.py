"""`pause` and `unpause`: freeze or resume the running containers of services, all at once (one plan)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from compose.cli.main import GlobalOptions
from compose.cli.project_cmd import call, load, open_session

if TYPE_CHECKING:
    from compose.client import EngineClient


def _each(opts: GlobalOptions, services: tuple[str, ...], resume: bool) -> None:
    """Pause (or with `resume` unpause) every container of `services` (all: none given) that can be."""
    from compose.plan import plan_pause
    from compose.plan.common import check_services

    project = load(opts, services)
    check_services(project, services)

    async def flow(client: EngineClient) -> None:
        session = open_session(client, opts, project)
        await session.execute(plan_pause(project, await session.observe(), services, resume=resume))

    call(flow)


@click.command("pause")
@click.argument("services", nargs=-1)
@click.pass_obj
def pause(opts: GlobalOptions, services: tuple[str, ...]) -> None:
    """Pause services."""
    _each(opts, services, resume=False)


@click.command("unpause")
@click.argument("services", nargs=-1)
@click.pass_obj
def unpause(opts: GlobalOptions, services: tuple[str, ...]) -> None:
    """Unpause services."""
    _each(opts, services, resume=True)
