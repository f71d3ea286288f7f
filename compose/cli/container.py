"""`pycompose container …`: docker's container commands over the Engine API.

`run` and `exec` live in container_run.py, the `docker ps` rows in
container_rows.py; this module holds the group and the commands that act
on containers one by one (docker's way: each name in turn, failures
reported per name and an exit status of 1 at the end).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

from compose.cli import container_attach, container_new, tables
from compose.cli.container_rows import PS, container_rows, parse_timestamp, prune_report
from compose.cli.container_run import attach_start_wait, call_run, exec_, run
from compose.cli.engine_group import (
    Target,
    confirm_and_prune,
    each,
    engine_group,
    inspect_each,
    parse_filters,
    pass_target,
)

if TYPE_CHECKING:
    from compose.client import EngineClient

container = engine_group("container", "Manage containers (docker container …).",
                         {"ps": "ls", "list": "ls", "remove": "rm"})
container.add_command(run)
container.add_command(exec_)
container.add_command(container_new.create_command)
container.add_command(container_attach.attach)

async def _post(client: EngineClient, path: str, params: dict[str, Any] | None = None) -> None:
    await (await client.post(path, params)).read()


@container.command("ls")
@click.option("-a", "--all", "show_all", is_flag=True, help="Show all containers (default shows just running).")
@click.option("-f", "--filter", "filters", multiple=True, metavar="KEY=VALUE", help="Filter output.")
@click.option("--format", "fmt", default=None, help="table, json, or a Go template.")
@click.option("-n", "--last", type=int, default=-1, help="Show the n last created containers.")
@click.option("-l", "--latest", is_flag=True, help="Show the latest created container.")
@click.option("--no-trunc", is_flag=True, help="Do not truncate output.")
@click.option("-q", "--quiet", is_flag=True, help="Only display container IDs.")
@click.option("-s", "--size", is_flag=True, help="Display total file sizes.")
@pass_target
def ls(target: Target, show_all: bool, filters: tuple[str, ...], fmt: str | None, last: int, latest: bool,
       no_trunc: bool, quiet: bool, size: bool) -> None:
    """List containers."""
    params = {"all": show_all or latest or last > 0, "filters": parse_filters(filters) or None,
              "limit": 1 if latest else (last if last > 0 else None), "size": size}

    async def work(client: EngineClient) -> Any:
        return await (await client.get("/containers/json", params)).json()

    rows = container_rows(target.call(work) or [], no_trunc)
    if size and fmt in (None, "", "table"):
        fmt = PS.default + "\t{{.Size}}"
    sys.stdout.write(tables.render(rows, PS, fmt, quiet))


@container.command()
@click.argument("names", nargs=-1, required=True)
@click.option("-a", "--attach", is_flag=True, help="Attach STDOUT/STDERR and forward signals.")
@click.option("-i", "--interactive", is_flag=True, help="Attach the container's STDIN.")
@click.option("--detach-keys", default=None, help="Override the key sequence for detaching a container.")
@pass_target
def start(target: Target, names: tuple[str, ...], attach: bool, interactive: bool, detach_keys: str | None) -> None:
    """Start one or more stopped containers."""
    from compose.cli.container_run import chosen_detach_keys

    keys = chosen_detach_keys(detach_keys)
    if not attach and not interactive:
        each(target, names, lambda client, name: _post(client, f"/containers/{name}/start"))
        return
    if len(names) > 1:
        raise click.UsageError("you cannot start and attach multiple containers at once")

    async def flow(client: EngineClient) -> int:
        info = await (await client.get(f"/containers/{names[0]}/json")).json()
        condition = "removed" if (info.get("HostConfig") or {}).get("AutoRemove") else "next-exit"
        tty = bool((info.get("Config") or {}).get("Tty"))
        return await attach_start_wait(client, info["Id"], tty, interactive, condition, detach_keys=keys)

    call_run(target, flow)


@container.command()
@click.argument("names", nargs=-1, required=True)
@click.option("-s", "--signal", "signame", default=None, help="Signal to send to the container.")
@click.option("-t", "--timeout", type=int, default=None, help="Seconds to wait before killing the container.")
@pass_target
def stop(target: Target, names: tuple[str, ...], signame: str | None, timeout: int | None) -> None:
    """Stop one or more running containers."""
    params = {"t": timeout, "signal": signame}
    each(target, names, lambda client, name: _post(client, f"/containers/{name}/stop", params))


@container.command()
@click.argument("names", nargs=-1, required=True)
@click.option("-s", "--signal", "signame", default=None, help="Signal to send to the container.")
@click.option("-t", "--timeout", type=int, default=None, help="Seconds to wait before killing the container.")
@pass_target
def restart(target: Target, names: tuple[str, ...], signame: str | None, timeout: int | None) -> None:
    """Restart one or more containers."""
    params = {"t": timeout, "signal": signame}
    each(target, names, lambda client, name: _post(client, f"/containers/{name}/restart", params))


@container.command()
@click.argument("names", nargs=-1, required=True)
@click.option("-s", "--signal", "signame", default=None, help="Signal to send (default KILL).")
@pass_target
def kill(target: Target, names: tuple[str, ...], signame: str | None) -> None:
    """Kill one or more running containers."""
    each(target, names, lambda client, name: _post(client, f"/containers/{name}/kill", {"signal": signame}))


@container.command()
@click.argument("names", nargs=-1, required=True)
@pass_target
def pause(target: Target, names: tuple[str, ...]) -> None:
    """Pause all processes within one or more containers."""
    each(target, names, lambda client, name: _post(client, f"/containers/{name}/pause", {}))


@container.command()
@click.argument("names", nargs=-1, required=True)
@pass_target
def unpause(target: Target, names: tuple[str, ...]) -> None:
    """Unpause all processes within one or more containers."""
    each(target, names, lambda client, name: _post(client, f"/containers/{name}/unpause", {}))


@container.command()
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Force the removal of a running container (SIGKILL).")
@click.option("-v", "--volumes", is_flag=True, help="Remove anonymous volumes of the container.")
@pass_target
def rm(target: Target, names: tuple[str, ...], force: bool, volumes: bool) -> None:
    """Remove one or more containers."""

    async def remove(client: EngineClient, name: str) -> None:
        await (await client.delete(f"/containers/{name}", {"force": force, "v": volumes})).read()

    each(target, names, remove)


@container.command()
@click.argument("name")
@click.option("-f", "--follow", is_flag=True, help="Follow log output.")
@click.option("--since", default=None, help="Logs since a timestamp or a relative time (e.g. 42m).")
@click.option("--until", default=None, help="Logs before a timestamp or a relative time.")
@click.option("-n", "--tail", default="all", help="Number of lines from the end of the logs.")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps.")
@click.option("--details", is_flag=True, help="Show extra details.")
@pass_target
def logs(target: Target, name: str, follow: bool, since: str | None, until: str | None, tail: str,
         timestamps: bool, details: bool) -> None:
    """Fetch the logs of a container."""
    params = {"stdout": True, "stderr": True, "follow": follow, "timestamps": timestamps, "tail": tail,
              "details": details or None,
              "since": parse_timestamp(since, "--since") if since else None,
              "until": parse_timestamp(until, "--until") if until else None}

    async def work(client: EngineClient) -> None:
        from compose.cli.streams import Output

        info = await (await client.get(f"/containers/{name}/json")).json()
        output = Output(bool((info.get("Config") or {}).get("Tty")))
        async for chunk in (await client.get(f"/containers/{name}/logs", params)).stream():
            output.write(chunk)

    target.call(work)


@container.command()
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", default=None, help="json, or a Go template.")
@click.option("-s", "--size", is_flag=True, help="Display total file sizes.")
@pass_target
def inspect(target: Target, names: tuple[str, ...], fmt: str | None, size: bool) -> None:
    """Display detailed information on one or more containers."""
    inspect_each(target, names, fmt, "/containers/{}/json", {"size": size})


@container.command()
@click.argument("names", nargs=-1, required=True)
@pass_target
def wait(target: Target, names: tuple[str, ...]) -> None:
    """Block until one or more containers stop, then print their exit codes."""

    async def wait_one(client: EngineClient, name: str) -> str:
        result = await (await client.post(f"/containers/{name}/wait")).json() or {}
        return str(result.get("StatusCode", ""))

    each(target, names, wait_one)


@container.command(context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("ps_args", nargs=-1, type=click.UNPROCESSED)
@pass_target
def top(target: Target, name: str, ps_args: tuple[str, ...]) -> None:
    """Display the running processes of a container."""

    async def work(client: EngineClient) -> None:
        params = {"ps_args": " ".join(ps_args)} if ps_args else {}
        found = await (await client.get(f"/containers/{name}/top", params)).json() or {}
        click.echo(tables.process_table(found), nl=False)

    target.call(work)


@container.command()
@click.argument("old")
@click.argument("new")
@pass_target
def rename(target: Target, old: str, new: str) -> None:
    """Rename a container."""

    async def work(client: EngineClient) -> None:
        await _post(client, f"/containers/{old}/rename", {"name": new})

    target.call(work)


@container.command()
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.option("--filter", "filters", multiple=True, metavar="KEY=VALUE", help="Filter: until=, label=.")
@pass_target
def prune(target: Target, force: bool, filters: tuple[str, ...]) -> None:
    """Remove all stopped containers."""
    confirm_and_prune(target, "/containers/prune", parse_filters(filters),
                      "WARNING! This will remove all stopped containers.", force, prune_report)


def port_lines(name: str, ports: Mapping[str, Any], private: str | None = None) -> list[str]:
    """`docker port`: `80/tcp -> 0.0.0.0:32768` for every binding, or the bindings of one `PORT[/PROTO]`."""
    if private is not None:
        port, _, proto = private.partition("/")
        key = f"{port}/{proto or 'tcp'}"
        bindings = ports.get(key) or []
        if not bindings:
            raise click.ClickException(f"No public port '{key}' published for {name}")
        return [_host_port(b) for b in bindings]

    def order(key: str) -> tuple[int, str]:
        port, _, proto = key.partition("/")
        return (int(port) if port.isdigit() else 0, proto)

    return [f"{key} -> {_host_port(b)}" for key in sorted(ports, key=order) for b in ports[key] or ()]


def _host_port(binding: Mapping[str, Any]) -> str:
    ip = str(binding.get("HostIp") or "0.0.0.0")
    port = str(binding.get("HostPort") or "")
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


@container.command()
@click.argument("name")
@click.argument("private_port", metavar="[PRIVATE_PORT[/PROTO]]", required=False)
@pass_target
def port(target: Target, name: str, private_port: str | None) -> None:
    """List port mappings or a specific mapping for the container."""

    async def work(client: EngineClient) -> Any:
        return await (await client.get(f"/containers/{name}/json")).json()

    info = target.call(work) or {}
    ports = (info.get("NetworkSettings") or {}).get("Ports") or {}
    for line in port_lines(name, ports, private_port):
        print(line)
