"""`stats`: the project's containers' resource use, as the docker CLI's `stats` shows it.

One row per container from `GET /containers/{id}/stats?stream=false` (two
samples, so `precpu_stats` is there): CPU % from the deltas, memory used
(without the page cache, as the docker CLI) against the limit, network and
block I/O, PIDs. `--format json` is docker's `{{json .}}` row: `BlockIO`,
`CPUPerc`, `Container`, `ID`, `MemPerc`, `MemUsage`, `Name`, `NetIO`, `PIDs`.
Without `--no-stream` the table is redrawn every second until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio
import click

from compose.cli.main import GlobalOptions
from compose.cli.project_cmd import call, load

if TYPE_CHECKING:
    from compose.client import EngineClient

_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")
TABLE = ("table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}")
HEADERS = {"ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT",
           "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS", "Container": "CONTAINER"}


def bytes_size(size: float) -> str:
    """go-units BytesSize: binary units, 4 significant digits (`1.5MiB`)."""
    unit = 0
    while size >= 1024.0 and unit < len(_BINARY) - 1:
        size /= 1024.0
        unit += 1
    return f"{size:.4g}{_BINARY[unit]}"


def cpu_percent(stats: Mapping[str, Any]) -> float:
    cpu, pre = stats.get("cpu_stats") or {}, stats.get("precpu_stats") or {}
    delta = (cpu.get("cpu_usage") or {}).get("total_usage", 0) - (pre.get("cpu_usage") or {}).get("total_usage", 0)
    system = (cpu.get("system_cpu_usage") or 0) - (pre.get("system_cpu_usage") or 0)
    cpus = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or []) or 1
    return delta / system * cpus * 100.0 if delta > 0 and system > 0 else 0.0


def memory_used(memory: Mapping[str, Any]) -> float:
    """usage less the page cache: `total_inactive_file` (v1) or `inactive_file` (v2), as the docker CLI."""
    usage = float(memory.get("usage") or 0)
    stats = memory.get("stats") or {}
    for key in ("total_inactive_file", "inactive_file"):
        if key in stats and stats[key] < usage:
            return usage - stats[key]
    return usage


def stats_row(stats: Mapping[str, Any], cid: str, name: str) -> dict[str, str]:
    from compose.cli.tables import human_size

    memory = stats.get("memory_stats") or {}
    used, limit = memory_used(memory), float(memory.get("limit") or 0)
    networks = (stats.get("networks") or {}).values()
    rx, tx = sum(n.get("rx_bytes", 0) for n in networks), sum(n.get("tx_bytes", 0) for n in networks)
    read = write = 0
    for entry in (stats.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []:
        op = str(entry.get("op", "")).lower()
        read += entry.get("value", 0) if op == "read" else 0
        write += entry.get("value", 0) if op == "write" else 0
    return {
        "ID": cid[:12], "Container": cid[:12], "Name": name.lstrip("/"),
        "CPUPerc": f"{cpu_percent(stats):.2f}%",
        "MemUsage": f"{bytes_size(used)} / {bytes_size(limit)}",
        "MemPerc": f"{used / limit * 100.0 if limit else 0.0:.2f}%",
        "NetIO": f"{human_size(rx)} / {human_size(tx)}",
        "BlockIO": f"{human_size(read)} / {human_size(write)}",
        "PIDs": str((stats.get("pids_stats") or {}).get("current", 0)),
    }


@click.command("stats")
@click.argument("service", required=False)
@click.option("-a", "--all", "show_all", is_flag=True, help="Show all containers (default shows just running).")
@click.option("--format", "fmt", default=None, help="Format output using a custom template, or json.")
@click.option("--no-stream", is_flag=True, help="Disable streaming stats and only pull the first result.")
@click.option("--no-trunc", is_flag=True, help="Do not truncate output.")
@click.pass_obj
def stats(opts: GlobalOptions, service: str | None, show_all: bool, fmt: str | None, no_stream: bool,
          no_trunc: bool) -> None:
    """Display a live stream of container(s) resource usage statistics."""
    from compose.cli.tables import Listing, render
    from compose.plan.common import check_services
    from compose.session import observe

    project = load(opts, (service,) if service else (), by_name=True)
    if project.services and service:
        check_services(project, (service,))
    listing = Listing(TABLE, HEADERS)

    async def sample(client: EngineClient) -> list[dict[str, str]]:
        observed = await observe(client, project.name)
        chosen = [c for c in sorted(observed.containers, key=lambda c: c.name)
                  if (show_all or c.running) and (service is None or c.service == service)]
        rows: dict[str, dict[str, str]] = {}

        async def one(cid: str, name: str) -> None:
            from compose.client import EngineError

            try:
                found = await (await client.get(f"/containers/{cid}/stats", {"stream": False})).json()
            except EngineError as exc:
                if exc.status == 404:  # removed since it was listed
                    return
                raise
            row = stats_row(found or {}, cid, name)
            rows[cid] = {**row, "ID": cid, "Container": cid} if no_trunc else row

        async with anyio.create_task_group() as tasks:
            for c in chosen:
                tasks.start_soon(one, c.id, c.name)
        return [rows[c.id] for c in chosen if c.id in rows]

    async def flow(client: EngineClient) -> None:
        while True:
            text = render(await sample(client), listing, fmt)
            if no_stream:
                sys.stdout.write(text)
                return
            sys.stdout.write("\033[2J\033[H" + text)
            sys.stdout.flush()
            await anyio.sleep(1.0)

    with contextlib.suppress(KeyboardInterrupt):
        call(flow)
