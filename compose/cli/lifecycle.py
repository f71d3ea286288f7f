"""`start`, `stop`, `restart`, `kill`, `rm` and `create`: the services' containers, one plan each.

Order comes from the plans (stops against dependency order, starts along
it, with the same `depends_on` waits as `up`; kills all at once, as Docker
Compose sends them); each runs through a `compose.session.Session`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from compose.cli.main import GlobalOptions
from compose.cli.project_cmd import call, load, open_session

if TYPE_CHECKING:
    from compose.client import EngineClient


@click.command("start")
@click.argument("services", nargs=-1)
@click.option("--wait", is_flag=True, help="Wait for services to be running|healthy.")
@click.option("--wait-timeout", type=float, default=None, help="Maximum seconds to wait for the project.")
@click.pass_obj
def start(opts: GlobalOptions, services: tuple[str, ...], wait: bool, wait_timeout: float | None) -> None:
    """Start services."""
    from compose.plan import plan_start

    project = load(opts, services)

    async def flow(client: EngineClient) -> None:
        session = open_session(client, opts, project)
        plan = plan_start(project, await session.observe(), services, wait=wait, wait_timeout=wait_timeout)
        await session.execute(plan)

    call(flow)


@click.command("stop")
@click.argument("services", nargs=-1)
@click.option("-t", "--timeout", type=int, default=None, help="Specify a shutdown timeout in seconds.")
@click.pass_obj
def stop(opts: GlobalOptions, services: tuple[str, ...], timeout: int | None) -> None:
    """Stop services."""
    from compose.plan import plan_stop

    project = load(opts, services)

    async def flow(client: EngineClient) -> None:
        session = open_session(client, opts, project)
        await session.execute(plan_stop(project, await session.observe(), services, timeout))

    call(flow)


@click.command("restart")
@click.argument("services", nargs=-1)
@click.option("-t", "--timeout", type=int, default=None, help="Specify a shutdown timeout in seconds.")
@click.option("--no-deps", is_flag=True, help="Don't restart dependent services.")
@click.pass_obj
def restart(opts: GlobalOptions, services: tuple[str, ...], timeout: int | None, no_deps: bool) -> None:
    """Restart service containers."""
    from compose.plan import plan_restart

    project = load(opts, services)

    async def flow(client: EngineClient) -> None:
        session = open_session(client, opts, project)
        observed = await session.observe()
        await session.execute(plan_restart(project, observed, services, no_deps=no_deps, timeout=timeout))

    call(flow)


@click.command("kill")
@click.argument("services", nargs=-1)
@click.option("-s", "--signal", "signame", default="SIGKILL", help="SIGNAL to send to the container.")
@click.option("--remove-orphans", is_flag=True, help="Remove containers for services not defined in the compose file.")
@click.pass_obj
def kill(opts: GlobalOptions, services: tuple[str, ...], signame: str, remove_orphans: bool) -> None:
    """Force stop service containers."""
    from compose.plan import plan_kill
    from compose.plan.common import check_services

    project = load(opts, services)
    check_services(project, services)

    async def flow(client: EngineClient) -> None:
        session = open_session(client, opts, project)
        plan = plan_kill(project, await session.observe(), services, signal=signame, remove_orphans=remove_orphans)
        await session.execute(plan)

    call(flow)


def _confirm(message: str) -> bool:
    sys.stdout.write(f"{message} [y/N] ")
    sys.stdout.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


@click.command("rm")
@click.argument("services", nargs=-1)
@click.option("-f", "--force", is_flag=True, help="Don't ask to confirm removal.")
@click.option("-s", "--stop", "stop_first", is_flag=True, help="Stop the containers, if required, before removing.")
@click.option("-v", "--volumes", is_flag=True, help="Remove any anonymous volumes attached to containers.")
@click.pass_obj
def rm(opts: GlobalOptions, services: tuple[str, ...], force: bool, stop_first: bool, volumes: bool) -> None:
    """Removes stopped service containers."""
    from compose.plan import Kind, plan_rm

    project = load(opts, services)

    async def flow(client: EngineClient) -> None:
        session = open_session(client, opts, project)
        plan = plan_rm(project, await session.observe(), services, stop=stop_first, volumes=volumes)
        removed = [op.subject.name for op in plan.of_kind(Kind.REMOVE_CONTAINER)]
        if removed:
            message = f"Going to remove {', '.join(removed)}"
            if force:
                sys.stdout.write(message + "\n")
            elif not _confirm(message):
                return
        await session.execute(plan, "Removing")

    call(flow)


@click.command("create")
@click.argument("services", nargs=-1)
@click.option("--force-recreate", is_flag=True, help="Recreate containers even if nothing changed.")
@click.option("--no-recreate", is_flag=True, help="Don't recreate containers that exist.")
@click.option("--remove-orphans", is_flag=True, help="Remove containers for services not defined in the compose file.")
@click.option("--scale", multiple=True, metavar="SERVICE=NUM", help="Scale SERVICE to NUM instances.")
@click.option("--pull", type=click.Choice(["always", "missing", "never", "build"]), default=None,
              help="Pull image before running (always, missing, never); replaces every service's pull_policy.")
@click.option("--quiet-pull", is_flag=True, help="Pull without printing progress information.")
@click.option("--build", is_flag=True, help="Build images before creating containers.")
@click.option("--no-build", is_flag=True, help="Don't build an image, even if it's policy.")
@click.option("-y", "--yes", is_flag=True, hidden=True)
@click.pass_obj
def create(opts: GlobalOptions, services: tuple[str, ...], **flags: Any) -> None:
    """Creates containers for a service."""
    from compose.cli.build import build_mode
    from compose.cli.up import parse_scale
    from compose.plan import UpOptions

    build = build_mode(flags)
    project = load(opts, services)
    options = UpOptions(services=services, force_recreate=flags["force_recreate"], no_recreate=flags["no_recreate"],
                        remove_orphans=flags["remove_orphans"], scale=parse_scale(flags["scale"]), no_start=True)
    call(lambda client: open_session(client, opts, project).converge(options, flags["pull"], flags["quiet_pull"],
                                                                     build))
