"""`pycompose exec SERVICE COMMAND`: run a command in a service's running container.

The container is replica `--index` (1 by default) of the service. A TTY is
allocated when our stdout is a terminal (as Docker Compose decides it) unless
-T; stdin is attached unless -d. The command's exit status is ours. The
docker CLI's config.json `detachKeys` (else ctrl-p ctrl-q) detach from it.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from compose.cli.main import GlobalOptions
from compose.cli.project_cmd import engine_host, load, open_session
from compose.exec_body import exec_body

if TYPE_CHECKING:
    from compose.client import EngineClient

_SETTINGS = {"allow_interspersed_args": False}


@click.command("exec", context_settings=_SETTINGS)
@click.argument("service")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("-d", "--detach", is_flag=True, help="Detached mode: run the command in the background.")
@click.option("-e", "--env", multiple=True, metavar="KEY=VAL", help="Set environment variables.")
@click.option("-u", "--user", default=None, help="Run the command as this user.")
@click.option("-w", "--workdir", default=None, help="Path to workdir directory for this command.")
@click.option("--index", type=int, default=1, help="Index of the container if the service has replicas.")
@click.option("--privileged", is_flag=True, help="Give extended privileges to the process.")
@click.option("-T", "--no-TTY", "no_tty", is_flag=True, default=None,
              help="Disable pseudo-TTY allocation (by default one is allocated when stdout is a terminal).")
@click.option("-i", "--interactive/--no-interactive", default=True, hidden=True, help="Keep STDIN open.")
@click.pass_obj
def exec_(opts: GlobalOptions, service: str, command: tuple[str, ...], detach: bool, env: tuple[str, ...],
          user: str | None, workdir: str | None, index: int, privileged: bool, no_tty: bool | None,
          interactive: bool) -> None:
    """Execute a command in a running container."""
    from compose.cli.container_create import environment
    from compose.cli.container_run import call_run, exec_flow
    from compose.cli.engine_group import Target

    tty = not no_tty and sys.stdout.isatty()
    if tty and interactive and not detach and not os.isatty(0):
        tty = False  # a pipe on stdin cannot drive a terminal
    from compose.cli.detach_keys import chosen

    project = load(opts, (service,))
    body = exec_body(command, tty=tty, interactive=interactive, detach=detach,
                     env=environment(env, os.environ), user=user, workdir=workdir, privileged=privileged,
                     detach_keys=chosen(None) if interactive and not detach else "")

    async def flow(client: EngineClient) -> int:
        container = await open_session(client, opts, project).find_container(service, index)
        return await exec_flow(client, container.id, body, detach)

    call_run(Target(engine_host()), flow)
