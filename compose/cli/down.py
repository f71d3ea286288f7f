"""`pycompose down`: stop and remove the project's containers and networks (and with -v its volumes).

Works from the compose file, or from `-p NAME` alone (everything labelled
with the project). `--rmi` removes the services' images afterwards: `local`
only those without an `image:` of their own (the ones compose would
build), `all` every one; an image already gone is not an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from compose.cli.main import GlobalOptions
from compose.cli.project_cmd import call, load, open_session, progress, step
from compose.errors import warn

if TYPE_CHECKING:
    from compose.client import EngineClient
    from compose.model import Project
    from compose.observed import ObservedState


def images_to_remove(project: Project, observed: ObservedState, rmi: str | None) -> list[str]:
    if rmi is None:
        return []
    if not project.services:  # known by name only: what its containers run
        return sorted({c.image for c in observed.containers if c.image} if rmi == "all" else set())
    return sorted({svc.image or f"{project.name}-{name}" for name, svc in project.services.items()
                   if rmi == "all" or not svc.image})


async def _remove_image(client: EngineClient, ref: str) -> None:
    from compose.client import EngineError

    try:
        await (await client.delete(f"/images/{ref}")).read()
    except EngineError as exc:
        if exc.status != 404:
            raise


@click.command("down")
@click.argument("services", nargs=-1)
@click.option("-v", "--volumes", is_flag=True,
              help="Remove named volumes declared in the volumes section and anonymous volumes of containers.")
@click.option("--remove-orphans", is_flag=True, help="Remove containers for services not defined in the compose file.")
@click.option("-t", "--timeout", type=int, default=None, help="Shutdown timeout in seconds.")
@click.option("--rmi", type=click.Choice(["local", "all"]), default=None,
              help='Remove images used by services: "local" only those without a custom tag, or "all".')
@click.pass_obj
def down(opts: GlobalOptions, services: tuple[str, ...], volumes: bool, remove_orphans: bool,
         timeout: int | None, rmi: str | None) -> None:
    """Stop and remove containers, networks (and volumes, images)."""
    from compose.plan import DownOptions, plan_down

    project = load(opts, services, by_name=True)

    async def flow(client: EngineClient) -> None:
        session = open_session(client, opts, project)
        observed = await session.observe()
        options = DownOptions(services, volumes, remove_orphans, timeout, session.known_services(observed))
        plan = plan_down(project, observed, options)
        images = images_to_remove(project, observed, rmi)
        for message in plan.warnings:
            if not (images and message.startswith("No resource found")):
                warn(message)
        if not plan and not images:
            return
        with progress(opts) as display:
            await session.run(plan, display.event)
            for ref in images:
                if opts.dry_run:
                    from compose.dry_run import PREFIX, nothing

                    await step(display, f"{PREFIX}Image {ref}", "Removing", "Removed", nothing())
                else:
                    await step(display, f"Image {ref}", "Removing", "Removed", _remove_image(client, ref))

    call(flow)
