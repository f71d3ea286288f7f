"""`pycompose volume …`: docker's volume commands over the Engine API.

Output follows the docker CLI: `DRIVER  VOLUME NAME` rows in natural name
order, `--format json` rows with docker's fields, the created or removed
name on its own line, prune's question and report. Rows and the report are
pure functions over the API's JSON; the commands fetch and print.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from compose.cli import tables
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

NA = "N/A"
VOLUMES = tables.Listing(
    default="table {{.Driver}}\t{{.Name}}",
    headers={"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
             "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "Group": "GROUP", "Availability": "AVAILABILITY",
             "Status": "STATUS"},
    quiet="{{.Name}}",
)
_DIGITS = re.compile(r"(\d+)")

volume = engine_group("volume", "Manage volumes (docker volume …).", {"list": "ls", "remove": "rm"})


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Docker's sortorder.NaturalLess: runs of digits compare as numbers (`v2` before `v10`)."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS.split(name) if part)


def volume_rows(volumes: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """`docker volume ls` rows, sorted as docker sorts them."""
    rows = []
    for v in sorted(volumes, key=lambda v: natural_key(str(v.get("Name") or ""))):
        labels = v.get("Labels") or {}
        usage = v.get("UsageData")
        rows.append({
            "Name": str(v.get("Name") or ""),
            "Driver": str(v.get("Driver") or ""),
            "Scope": str(v.get("Scope") or ""),
            "Mountpoint": str(v.get("Mountpoint") or ""),
            "Labels": ",".join(f"{k}={labels[k]}" for k in sorted(labels)),
            "Links": str(usage["RefCount"]) if usage else NA,
            "Size": tables.human_size(float(usage["Size"])) if usage and usage.get("Size", -1) >= 0 else NA,
            "Group": NA,
            "Availability": NA,
            "Status": NA,
        })
    return rows


def prune_report(report: Mapping[str, Any]) -> str:
    return tables.reclaimed_report("Deleted Volumes:", report.get("VolumesDeleted") or [],
                                   report.get("SpaceReclaimed"))


def key_values(values: Sequence[str]) -> dict[str, str]:
    """`--label k=v` / `--opt k=v` (a bare `k` means an empty value), later ones winning."""
    out: dict[str, str] = {}
    for value in values:
        key, _, arg = value.partition("=")
        out[key] = arg
    return out


# commands


@volume.command()
@click.argument("name", required=False)
@click.option("-d", "--driver", default="local", show_default=True, help="Specify volume driver name.")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="Set metadata for a volume.")
@click.option("-o", "--opt", "opts", multiple=True, metavar="KEY=VALUE", help="Set driver specific options.")
@click.option("--name", "name_flag", default=None, hidden=True)
@pass_target
def create(target: Target, name: str | None, driver: str, labels: tuple[str, ...], opts: tuple[str, ...],
           name_flag: str | None) -> None:
    """Create a volume."""
    if name and name_flag and name != name_flag:
        raise click.UsageError("conflicting options: either specify --name or provide positional arg, not both")
    body: dict[str, Any] = {"Name": name or name_flag or "", "Driver": driver}
    if opts:
        body["DriverOpts"] = key_values(opts)
    if labels:
        body["Labels"] = key_values(labels)

    async def work(client: EngineClient) -> Any:
        return await (await client.post("/volumes/create", json=body)).json()

    print(target.call(work)["Name"])


@volume.command("ls")
@click.option("-f", "--filter", "filters", multiple=True, metavar="KEY=VALUE",
              help="Filter: dangling=, driver=, label=, name=.")
@click.option("--format", "fmt", default=None, help="table, json, or a Go template.")
@click.option("-q", "--quiet", is_flag=True, help="Only display volume names.")
@pass_target
def ls(target: Target, filters: tuple[str, ...], fmt: str | None, quiet: bool) -> None:
    """List volumes."""
    spec = parse_filters(filters)

    async def work(client: EngineClient) -> Any:
        return await (await client.get("/volumes", {"filters": spec or None})).json()

    listing = target.call(work) or {}
    for warning in listing.get("Warnings") or ():
        print(warning, file=sys.stderr)
    sys.stdout.write(tables.render(volume_rows(listing.get("Volumes") or []), VOLUMES, fmt, quiet))


@volume.command()
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", default=None, help="json, or a Go template.")
@pass_target
def inspect(target: Target, names: tuple[str, ...], fmt: str | None) -> None:
    """Display detailed information on one or more volumes."""
    inspect_each(target, names, fmt, "/volumes/{}")


@volume.command()
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Force the removal of one or more volumes.")
@pass_target
def rm(target: Target, names: tuple[str, ...], force: bool) -> None:
    """Remove one or more volumes. You cannot remove a volume that is in use by a container."""

    async def remove(client: EngineClient, name: str) -> None:
        await (await client.delete(f"/volumes/{name}", {"force": force})).read()

    each(target, names, remove)


@volume.command()
@click.option("-a", "--all", "prune_all", is_flag=True, help="Remove all unused volumes, not just anonymous ones.")
@click.option("--filter", "filters", multiple=True, metavar="KEY=VALUE", help="Filter: label=, label!=.")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@pass_target
def prune(target: Target, prune_all: bool, filters: tuple[str, ...], force: bool) -> None:
    """Remove unused local volumes."""
    spec = parse_filters(filters)
    if prune_all:
        spec["all"] = ["true"]
    what = "all local volumes" if prune_all else "anonymous local volumes"
    confirm_and_prune(target, "/volumes/prune", spec,
                      f"WARNING! This will remove {what} not used by at least one container.", force, prune_report)
