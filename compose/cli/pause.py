"""`pause` and `unpause`: freeze or resume the running containers of services, all at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from compose.cli.main import GlobalOptions
from compose.cli.project_cmd import call, load, progress, step
from compose.errors import warn
from compose.session import observe

if TYPE_CHECKING:
    from compose.client import EngineClient


def _each(opts: GlobalOptions, services: tuple[str, ...], state: str, action: str, words: tuple[str, str]) -> None:
    """POST `action` to every container of `services` (all: none given) that is in `state`."""
    import anyio

    from compose.plan.common import check_services

    project = load(opts, services)
    check_services(project, services)

    async def flow(client: EngineClient) -> None:
        observed = await observe(client, project.name)
        chosen = [c for name in (services or sorted(project.services)) for c in observed.service_containers(name)
                  if c.state == state]
        if not chosen:
            warn(f"no container to {action}")
            return

        async def post(container: str) -> None:
            await (await client.post(f"/containers/{container}/{action}")).read()

        with progress(opts) as display:
            async with anyio.create_task_group() as tasks:
                for c in chosen:
                    tasks.start_soon(step, display, f"Container {c.name}", *words, post(c.id))

    call(flow)


@click.command("pause")
@click.argument("services", nargs=-1)
@click.pass_obj
def pause(opts: GlobalOptions, services: tuple[str, ...]) -> None:
    """Pause services."""
    _each(opts, services, "running", "pause", ("Pausing", "Paused"))


@click.command("unpause")
@click.argument("services", nargs=-1)
@click.pass_obj
def unpause(opts: GlobalOptions, services: tuple[str, ...]) -> None:
    """Unpause services."""
    _each(opts, services, "paused", "unpause", ("Unpausing", "Unpaused"))
