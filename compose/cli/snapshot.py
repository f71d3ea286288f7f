"""`export` (a service container's filesystem as a tar) and `commit` (a new image from its changes).

Replica `--index` (1 by default) of the service, through
`GET /containers/{id}/export` and `POST /commit`. `export` refuses to write
the archive to a terminal, as Docker Compose does.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import click

from compose.cli.main import GlobalOptions
from compose.cli.project_cmd import call, load, open_session
from compose.errors import ComposeError

if TYPE_CHECKING:
    from compose.client import EngineClient
    from compose.observed import ObservedContainer


async def replica_any_state(client: EngineClient, opts: GlobalOptions, service: str, index: int) -> ObservedContainer:
    """Replica `index` of `service`, running or not (export and commit need no running one)."""
    project = load(opts, (), by_name=True)
    observed = await open_session(client, opts, project).observe()
    chosen = [c for c in observed.service_containers(service) if c.number == index]
    if not chosen:
        if project.services and service not in project.services:
            raise ComposeError(f"no such service: {service}")
        raise ComposeError(f'service "{service}" has no container #{index}')
    return chosen[0]


@click.command("export")
@click.argument("service")
@click.option("--index", type=int, default=1, help="index of the container if service has multiple replicas.")
@click.option("-o", "--output", default=None, help="Write to a file, instead of STDOUT.")
@click.pass_obj
def export(opts: GlobalOptions, service: str, index: int, output: str | None) -> None:
    """Export a service container's filesystem as a tar archive."""
    if output is None and sys.stdout.isatty():
        raise ComposeError("output is a tty, specify a file to write to (-o) or redirect output")

    async def flow(client: EngineClient) -> None:
        container = await replica_any_state(client, opts, service, index)
        response = await client.get(f"/containers/{container.id}/export")
        target = output + ".part" if output else None
        sink = open(target, "wb") if target else sys.stdout.buffer  # noqa: SIM115 - closed below
        try:
            async for chunk in response.stream():
                sink.write(chunk)
            sink.flush()
        except BaseException:
            if target:
                sink.close()
                os.unlink(target)
            raise
        if target and output:
            sink.close()
            os.replace(target, output)

    call(flow)


@click.command("commit")
@click.argument("service")
@click.argument("reference", required=False)
@click.option("-a", "--author", default=None, help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>").')
@click.option("-c", "--change", "changes", multiple=True, help="Apply Dockerfile instruction to the created image.")
@click.option("-m", "--message", default=None, help="Commit message.")
@click.option("-p", "--pause/--no-pause", default=True, help="Pause container during commit.")
@click.option("--index", type=int, default=1, help="index of the container if service has multiple replicas.")
@click.pass_obj
def commit(opts: GlobalOptions, service: str, reference: str | None, author: str | None, changes: tuple[str, ...],
           message: str | None, pause: bool, index: int) -> None:
    """Create a new image from a service container's changes."""
    params: dict[str, Any] = {"pause": pause}
    if reference:
        repo, tag = reference, ""
        slash, colon = reference.rfind("/"), reference.rfind(":")
        if colon > slash:
            repo, tag = reference[:colon], reference[colon + 1:]
        params["repo"] = repo
        if tag:
            params["tag"] = tag
    if author:
        params["author"] = author
    if message:
        params["comment"] = message
    if changes:
        params["changes"] = changes

    async def flow(client: EngineClient) -> str:
        container = await replica_any_state(client, opts, service, index)
        if opts.dry_run:  # the container is found, no image is made
            return ""
        answer = await (await client.post("/commit", {**params, "container": container.id}, json={})).json()
        return str((answer or {}).get("Id", ""))

    made = call(flow)
    if made:
        click.echo(made)
