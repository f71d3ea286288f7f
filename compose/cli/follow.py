"""Commands that follow containers as they run: `attach`, `events`, `wait`.

`events` prints the engine's container events of the project as Docker
Compose does (`2024-01-02 15:04:05.000000 container start <id> (k=v, …)`,
or with `--json` one object per line: `time`, `type`, `service`, `id`,
`action`, `attributes`). `wait` blocks until the first container of the
services named stops and exits with its status (`--down-project` then takes
the project down). `attach` connects the terminal to a service's running
container.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio
import click

from compose import labels as L
from compose.cli.main import GlobalOptions
from compose.cli.project_cmd import call, load, open_session
from compose.errors import ComposeError

if TYPE_CHECKING:
    from compose.client import EngineClient


def event_time(event: Mapping[str, Any]) -> datetime:
    nanos = event.get("timeNano") or int(event.get("time") or 0) * 1_000_000_000
    return datetime.fromtimestamp(nanos / 1e9, UTC)


def event_attributes(event: Mapping[str, Any]) -> dict[str, str]:
    """The actor's attributes but the compose labels (Docker Compose leaves those out)."""
    attributes = (event.get("Actor") or {}).get("Attributes") or {}
    return {k: str(v) for k, v in sorted(attributes.items()) if not k.startswith(L.PREFIX)}


def event_line(event: Mapping[str, Any], as_json: bool) -> str:
    actor = event.get("Actor") or {}
    service = (actor.get("Attributes") or {}).get(L.SERVICE, "")
    when = event_time(event)
    action = str(event.get("Action") or event.get("status") or "")
    cid = str(actor.get("ID") or event.get("id") or "")
    attributes = event_attributes(event)
    if as_json:
        stamp = when.isoformat().replace("+00:00", "Z")
        return json.dumps({"time": stamp, "type": "container", "service": service, "id": cid, "action": action,
                           "attributes": attributes}, separators=(",", ":"))
    pairs = ", ".join(f"{k}={v}" for k, v in attributes.items())
    return f"{when.strftime('%Y-%m-%d %H:%M:%S.%f')} container {action} {cid} ({pairs})"


@click.command("events")
@click.argument("services", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Output events as a stream of json objects.")
@click.option("--since", default=None, help="Show all events created since timestamp.")
@click.option("--until", default=None, help="Stream events until this timestamp.")
@click.pass_obj
def events(opts: GlobalOptions, services: tuple[str, ...], as_json: bool, since: str | None,
           until: str | None) -> None:
    """Receive real time events from containers."""
    from compose.plan.common import check_services

    project = load(opts, services, by_name=True)
    if project.services:
        check_services(project, services)

    async def flow(client: EngineClient) -> None:
        params: dict[str, Any] = {"filters": {"label": [f"{L.PROJECT}={project.name}"], "type": ["container"]}}
        if since:
            params["since"] = since
        if until:
            params["until"] = until
        response = await client.get("/events", params)
        try:
            async for event in response.json_stream():
                service = ((event.get("Actor") or {}).get("Attributes") or {}).get(L.SERVICE)
                if services and service not in services:
                    continue
                sys.stdout.write(event_line(event, as_json) + "\n")
                sys.stdout.flush()
        finally:
            await response.aclose()

    with contextlib.suppress(KeyboardInterrupt):
        call(flow)


@click.command("wait")
@click.argument("services", nargs=-1, required=True)
@click.option("--down-project", is_flag=True, help="Drops project when the first container stops.")
@click.pass_obj
def wait(opts: GlobalOptions, services: tuple[str, ...], down_project: bool) -> None:
    """Block until the first service container stops."""
    from compose.plan.common import check_services

    project = load(opts, services)
    check_services(project, services)

    async def flow(client: EngineClient) -> int:
        session = open_session(client, opts, project)
        observed = await session.observe()
        chosen = [c for s in services for c in observed.service_containers(s)]
        if not chosen:
            raise ComposeError(f"no containers for services: {', '.join(services)}")
        first: dict[str, int] = {}

        async with anyio.create_task_group() as tasks:
            async def one(cid: str) -> None:
                answer = await (await client.post(f"/containers/{cid}/wait", {"condition": "not-running"})).json()
                first.setdefault("code", int((answer or {}).get("StatusCode") or 0))
                tasks.cancel_scope.cancel()

            for c in chosen:
                tasks.start_soon(one, c.id)
        if down_project:
            from compose.plan import DownOptions, plan_down

            observed = await session.observe()
            plan = plan_down(project, observed, DownOptions((), False, False, None, frozenset()))
            await session.execute(plan, "Running")
        return first.get("code", 0)

    status = call(flow)
    if status:
        raise click.exceptions.Exit(status)


@click.command("attach")
@click.argument("service")
@click.option("--index", type=int, default=1, help="index of the container if service has multiple replicas.")
@click.option("--no-stdin", is_flag=True, help="Do not attach STDIN.")
@click.option("--sig-proxy/--no-sig-proxy", default=True, help="Proxy all received signals to the process.")
@click.option("--detach-keys", default=None, help="Override the key sequence for detaching from a container.")
@click.pass_obj
def attach(opts: GlobalOptions, service: str, index: int, no_stdin: bool, sig_proxy: bool,
           detach_keys: str | None) -> None:
    """Attach local standard input, output, and error streams to a service's running container."""
    from compose.cli.streams import Session, run_session

    project = load(opts, (service,))

    async def flow(client: EngineClient) -> None:
        container = await open_session(client, opts, project).find_container(service, index)
        doc = await (await client.get(f"/containers/{container.id}/json")).json()
        config = doc.get("Config") or {}
        tty, stdin = bool(config.get("Tty")), bool(config.get("OpenStdin")) and not no_stdin
        params: dict[str, Any] = {"stream": True, "stdin": stdin, "stdout": True, "stderr": True}
        if detach_keys:
            params["detachKeys"] = detach_keys
        stream = await client.hijack("POST", f"/containers/{container.id}/attach", params)

        async def resize(height: int, width: int) -> None:
            await (await client.post(f"/containers/{container.id}/resize", {"h": height, "w": width})).read()

        async def forward(signame: str) -> None:
            await (await client.post(f"/containers/{container.id}/kill", {"signal": signame})).read()

        await run_session(Session(stream, tty, stdin, resize=resize, forward_signal=forward if sig_proxy else None))

    call(flow)
