"""`pycompose ps`: the project's containers as Docker Compose lists them.

Rows are `docker ps` rows (compose.cli.container_rows) plus the compose
fields (`Name`, `Service`, `Project`, `ExitCode`, `Health`, `Publishers`),
so `--format` templates written for Docker Compose work; `--format json`
prints one object per line, as Docker Compose does since 2.21.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from compose import labels as L
from compose.cli import tables
from compose.cli.main import GlobalOptions
from compose.cli.project_cmd import call, load
from compose.errors import ComposeError

if TYPE_CHECKING:
    from compose.client import EngineClient

STATES = ("paused", "restarting", "removing", "running", "dead", "created", "exited")
PS = tables.Listing(
    default="table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}",
    headers={"ID": "CONTAINER ID", "Name": "NAME", "Names": "NAMES", "Image": "IMAGE", "Command": "COMMAND",
             "Service": "SERVICE", "Project": "PROJECT", "RunningFor": "CREATED", "CreatedAt": "CREATED AT",
             "Status": "STATUS", "State": "STATE", "Ports": "PORTS", "Health": "HEALTH", "ExitCode": "EXIT CODE",
             "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS", "LocalVolumes": "LOCAL VOLUMES",
             "Size": "SIZE"},
)


def _health(status: str) -> str:
    for word, health in (("(healthy)", "healthy"), ("(unhealthy)", "unhealthy"), ("(health: starting)", "starting")):
        if word in status:
            return health
    return ""


def _exit_code(summary: Mapping[str, Any]) -> int:
    status = str(summary.get("Status") or "")
    if status.startswith("Exited (") and ")" in status:
        try:
            return int(status[len("Exited ("): status.index(")")])
        except ValueError:
            return 0
    return 0


def _publishers(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"URL": str(p.get("IP") or ""), "TargetPort": int(p.get("PrivatePort") or 0),
             "PublishedPort": int(p.get("PublicPort") or 0), "Protocol": str(p.get("Type") or "tcp")}
            for p in summary.get("Ports") or []]


def compose_rows(containers: Sequence[Mapping[str, Any]], no_trunc: bool = False,
                 now: float | None = None) -> list[dict[str, Any]]:
    from compose.cli.container_rows import container_rows

    rows: list[dict[str, Any]] = []
    for summary, row in zip(containers, container_rows(containers, no_trunc, now), strict=True):
        labels = summary.get("Labels") or {}
        rows.append({**row, "Name": row["Names"], "Service": labels.get(L.SERVICE, ""),
                     "Project": labels.get(L.PROJECT, ""), "Health": _health(str(summary.get("Status") or "")),
                     "ExitCode": _exit_code(summary), "Publishers": _publishers(summary)})
    return rows


def select(containers: Iterable[Mapping[str, Any]], *, services: Sequence[str], known: Iterable[str],
           states: Sequence[str], show_all: bool, orphans: bool) -> list[Mapping[str, Any]]:
    """Docker Compose's choice: running ones unless -a or a status filter; by service; orphans or not."""
    known_set = set(known)
    out = []
    for c in containers:
        labels = c.get("Labels") or {}
        service, state = labels.get(L.SERVICE), str(c.get("State") or "")
        if services and service not in services:
            continue
        if states and state not in states:
            continue
        if not states and not show_all and state not in ("running", "restarting", "paused"):
            continue
        if not orphans and known_set and service not in known_set:
            continue
        out.append(c)
    return sorted(out, key=lambda c: str((c.get("Names") or [""])[0]))


def _status_filters(status: tuple[str, ...], filters: tuple[str, ...]) -> list[str]:
    states = list(status)
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep or key.strip() != "status":
            raise click.BadParameter(f"{item!r}: only status=STATE is supported", param_hint="--filter")
        states.append(value.strip())
    for state in states:
        if state not in STATES:
            raise click.BadParameter(f"invalid status {state!r}: one of {', '.join(STATES)}", param_hint="--status")
    return states


@click.command("ps")
@click.argument("services", nargs=-1)
@click.option("-a", "--all", "show_all", is_flag=True, help="Show all stopped containers too.")
@click.option("-q", "--quiet", is_flag=True, help="Only display IDs.")
@click.option("--services", "list_services", is_flag=True, help="Display services.")
@click.option("--status", multiple=True, metavar="STATE", help=f"Filter services by status: {', '.join(STATES)}.")
@click.option("--filter", "filters", multiple=True, metavar="status=STATE", help="Filter services by a property.")
@click.option("--format", "fmt", default="table", help="table, json, or a Go template.")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output.")
@click.option("--orphans/--no-orphans", default=True, help="Include orphaned services (not declared by project).")
@click.pass_obj
def ps(opts: GlobalOptions, services: tuple[str, ...], show_all: bool, quiet: bool, list_services: bool,
       status: tuple[str, ...], filters: tuple[str, ...], fmt: str, no_trunc: bool, orphans: bool) -> None:
    """List containers."""
    project = load(opts, services, by_name=True)
    for name in services:
        if project.services and name not in project.services:
            raise ComposeError(f"no such service: {name}")
    states = _status_filters(status, filters)

    async def work(client: EngineClient) -> Any:
        params = {"all": True, "filters": L.project_filter(project.name)}
        return await (await client.get("/containers/json", params)).json()

    found = select(call(work) or [], services=services, known=project.services, states=states,
                   show_all=show_all, orphans=orphans)
    if list_services:
        seen = dict.fromkeys(str((c.get("Labels") or {}).get(L.SERVICE, "")) for c in found)
        sys.stdout.write("".join(f"{name}\n" for name in seen))
        return
    if quiet:
        sys.stdout.write("".join(f"{c.get('Id')}\n" for c in found))
        return
    sys.stdout.write(tables.render(compose_rows(found, no_trunc), PS, fmt))
