"""`pycompose builder prune`: the engine's build cache removed, as `docker builder prune`.

`POST /build/prune` with `all`, `filters` and `keep-storage`; the answer
(`CachesDeleted`, `SpaceReclaimed`) printed as the docker CLI prints it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from compose.client import EngineClient

from compose.cli.engine_group import Target, confirm, engine_group, parse_filters, pass_target

builder = engine_group("builder", "Manage builds (docker builder …).", {})


def prune_report(answer: Mapping[str, Any]) -> str:
    from compose.registry.messages import human_size

    deleted = answer.get("CachesDeleted") or []
    out = "Deleted build cache objects:\n" + "".join(f"{d}\n" for d in deleted) + "\n" if deleted else ""
    return out + f"Total reclaimed space: {human_size(float(answer.get('SpaceReclaimed') or 0))}\n"


def _bytes(value: str | None) -> int | None:
    if not value:
        return None
    from compose.loader.units import parse_bytes

    try:
        return parse_bytes(value)
    except (ValueError, TypeError):
        raise click.BadParameter(f"invalid size: {value!r}", param_hint="--keep-storage") from None


@builder.command()
@click.option("-a", "--all", "prune_all", is_flag=True, help="Remove all unused build cache, not just dangling ones.")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.option("--filter", "filters", multiple=True, metavar="KEY=VALUE", help="Provide filter values (e.g. until=24h).")
@click.option("--keep-storage", default=None, metavar="BYTES", help="Amount of disk space to keep for cache.")
@pass_target
def prune(target: Target, prune_all: bool, force: bool, filters: tuple[str, ...], keep_storage: str | None) -> None:
    """Remove build cache."""
    import sys

    spec = parse_filters(filters)
    keep = _bytes(keep_storage)
    warning = ("WARNING! This will remove all build cache." if prune_all
               else "WARNING! This will remove all dangling build cache.")
    if not force and not confirm(f"{warning}\nAre you sure you want to continue?"):
        return

    async def work(client: EngineClient) -> Any:
        params = {"all": prune_all or None, "filters": spec or None, "keep-storage": keep}
        return await (await client.post("/build/prune", params)).json()

    sys.stdout.write(prune_report(target.call(work) or {}))
