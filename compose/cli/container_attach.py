"""`pycompose container attach`: docker attach over the Engine API.

The container's output (and its stdin when it was created with -i, unless
--no-stdin) until it exits, whose status is ours; the detach keys
(--detach-keys, config.json `detachKeys`, ctrl-p ctrl-q) leave it running
and end with docker's "read escape sequence" and status 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from compose.cli.container_plain import RunFailed
from compose.cli.container_run import attach_start_wait, call_run, chosen_detach_keys
from compose.cli.engine_group import Target, pass_target

if TYPE_CHECKING:
    from compose.client import EngineClient


@click.command("attach")
@click.argument("name")
@click.option("--detach-keys", default=None, help="Override the key sequence for detaching a container.")
@click.option("--no-stdin", is_flag=True, help="Do not attach STDIN.")
@click.option("--sig-proxy/--no-sig-proxy", default=True, help="Proxy all received signals to the process.")
@pass_target
def attach(target: Target, name: str, detach_keys: str | None, no_stdin: bool, sig_proxy: bool) -> None:
    """Attach local standard input, output, and error streams to a running container."""
    keys = chosen_detach_keys(detach_keys)

    async def flow(client: EngineClient) -> int:
        info = await (await client.get(f"/containers/{name}/json")).json()
        state, config = info.get("State") or {}, info.get("Config") or {}
        if not state.get("Running"):
            raise RunFailed("You cannot attach to a stopped container, start it first", 1)
        if state.get("Paused"):
            raise RunFailed("You cannot attach to a paused container, unpause it first", 1)
        stdin = bool(config.get("OpenStdin")) and not no_stdin
        return await attach_start_wait(client, info["Id"], bool(config.get("Tty")), stdin, "next-exit",
                                       start_it=False, detach_keys=keys,
                                       on_detach=RunFailed("read escape sequence", 1), sig_proxy=sig_proxy)

    call_run(target, flow)
