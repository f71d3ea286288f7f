"""`pycompose container create`: docker create — `run`'s options, the container made (its image pulled when
missing, or first with `--pull always`), its id printed, nothing started."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

from compose.cli.container_run import call_run, create, run
from compose.cli.engine_group import Target, pass_target

if TYPE_CHECKING:
    from compose.client import EngineClient


def _create(target: Target, **flags: Any) -> None:
    from compose.cli.container_create import CreateOptions, create_body
    from compose.cli.container_pull import check_policy

    try:
        pull = check_policy(flags.pop("pull"))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    platform, quiet = flags.pop("platform"), flags.pop("quiet")
    flags["command"] = tuple(flags["command"])
    opts = CreateOptions(**flags, environ=dict(os.environ), console_size=None)
    body = create_body(opts)

    async def flow(client: EngineClient) -> int:
        print(await create(client, body, opts.name, pull, platform, quiet), flush=True)
        return 0

    call_run(target, flow)


create_command = click.Command(
    "create", params=[p for p in run.params if p.name not in ("detach", "detach_keys")], callback=pass_target(_create),
    context_settings=run.context_settings, help="Create a new container.", short_help="Create a new container.")
