"""Read-only project commands: `port`, `version`, `ls`, `images`, as Docker Compose v2 prints them.

`ls` lists every project the engine has containers of (by the project label);
`images` the image of each of the project's containers; `port` the host
address a service's private port is published on. `--format json` is a JSON
array with Docker Compose's field names (`Name`, `Status`, `ConfigFiles`;
`ID`, `ContainerName`, `Repository`, `Tag`, `Platform`, `Size`, `Created`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from compose import labels as L
from compose.cli.main import GlobalOptions
from compose.cli.project_cmd import call, load
from compose.errors import ComposeError

if TYPE_CHECKING:
    from compose.client import EngineClient

VERSION = L.COMPOSE_VERSION  # the Docker Compose behaviour we follow, as tools that parse `version` expect


def json_array(rows: Sequence[Mapping[str, Any]]) -> str:
    from compose.cli.gotemplate import go_json

    return go_json([dict(row) for row in rows]) + "\n"


def formatted(rows: Sequence[Mapping[str, Any]], fmt: str, headers: Sequence[tuple[str, str]]) -> str:
    """`table` (the columns given), `json` (one array), or a Go template per row."""
    from compose.cli import gotemplate
    from compose.cli.tables import tabwrite

    if fmt.strip() in ("", "table", "pretty"):
        lines = ["\t".join(title for _, title in headers)]
        lines += ["\t".join(str(row[field]) for field, _ in headers) for row in rows]
        return tabwrite(lines)
    if fmt.strip() == "json":
        return json_array(rows)
    template = gotemplate.unescape(fmt)
    return "".join(gotemplate.render(template, row) + "\n" for row in rows)


@click.command("version")
@click.option("-f", "--format", "fmt", default="", help="Format the output. Values: [pretty | json].")
@click.option("--short", is_flag=True, help="Shows only Compose's version number.")
def version(fmt: str, short: bool) -> None:
    """Show the Docker Compose version information."""
    if short:
        click.echo(VERSION)
    elif fmt == "json":
        click.echo(f'{{"version":"v{VERSION}"}}')
    elif fmt in ("", "pretty"):
        click.echo(f"Docker Compose version v{VERSION}")
    else:
        raise click.BadParameter(f"format value {fmt!r} could not be parsed", param_hint="--format")


def combined_status(states: Sequence[str]) -> str:
    """Docker Compose's `running(2), exited(1)`: each state with its count, by name."""
    counts = Counter(states)
    return ", ".join(f"{state}({counts[state]})" for state in sorted(counts))


def stacks(containers: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """One row per project: its name, the states of its containers, its compose files."""
    by_project: dict[str, list[Mapping[str, Any]]] = {}
    for c in containers:
        name = (c.get("Labels") or {}).get(L.PROJECT)
        if name:
            by_project.setdefault(name, []).append(c)
    rows = []
    for name in sorted(by_project):
        found = by_project[name]
        files: list[str] = []
        for c in found:
            for path in ((c.get("Labels") or {}).get(L.CONFIG_FILES) or "").split(","):
                if path and path not in files:
                    files.append(path)
        rows.append({"Name": name, "Status": combined_status([str(c.get("State", "")) for c in found]),
                     "ConfigFiles": ",".join(files)})
    return rows


@click.command("ls")
@click.option("-a", "--all", "show_all", is_flag=True, help="Show all stopped Compose projects.")
@click.option("-q", "--quiet", is_flag=True, help="Only display project names.")
@click.option("--filter", "filters", multiple=True, help="Filter output based on conditions provided.")
@click.option("--format", "fmt", default="table", help="Format the output. Values: [table | json].")
def ls(show_all: bool, quiet: bool, filters: tuple[str, ...], fmt: str) -> None:
    """List running compose projects."""
    names: list[str] = []
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep:
            raise ComposeError(f"bad format of filter (expected name=value): {item}")
        if key != "name":
            raise ComposeError(f"invalid filter '{key}'")
        names.append(value)

    async def flow(client: EngineClient) -> Any:
        filters_q: dict[str, list[str]] = {"label": [L.PROJECT]}
        return await (await client.get("/containers/json", {"all": show_all, "filters": filters_q})).json()

    rows = [row for row in stacks(call(flow) or []) if not names or any(n in row["Name"] for n in names)]
    if quiet:
        click.echo("".join(row["Name"] + "\n" for row in rows), nl=False)
        return
    click.echo(formatted(rows, fmt, [("Name", "NAME"), ("Status", "STATUS"), ("ConfigFiles", "CONFIG FILES")]),
               nl=False)


def _platform(image: Mapping[str, Any]) -> str:
    parts = [image.get("Os") or "", image.get("Architecture") or ""]
    if image.get("Variant"):
        parts.append(image["Variant"])
    return "/".join(p for p in parts if p)


def image_row(container: str, image: Mapping[str, Any], wanted: str) -> dict[str, Any]:
    """Repository and tag as the container asked for them (or the image's first tag)."""
    from compose.cli.tables import rfc3339
    from compose.observed import parse_time

    tags = list(image.get("RepoTags") or [])
    reference = wanted if wanted in tags or not tags else tags[0]
    if "@" in reference or not reference or reference.startswith("sha256:"):
        repo, tag = reference.split("@")[0] if "@" in reference else "", ""
    else:
        slash = reference.rfind("/")
        colon = reference.rfind(":")
        repo, tag = (reference[:colon], reference[colon + 1:]) if colon > slash else (reference, "latest")
    created = parse_time(image.get("Created"))
    row: dict[str, Any] = {"ID": image.get("Id", ""), "ContainerName": container, "Repository": repo, "Tag": tag,
                           "Platform": _platform(image), "Size": int(image.get("Size") or 0)}
    if created is not None:
        row["Created"] = rfc3339(created)
    return row


@click.command("images")
@click.argument("services", nargs=-1)
@click.option("--format", "fmt", default="table", help="Format the output. Values: [table | json].")
@click.option("-q", "--quiet", is_flag=True, help="Only display IDs.")
@click.pass_obj
def images(opts: GlobalOptions, services: tuple[str, ...], fmt: str, quiet: bool) -> None:
    """List images used by the created containers."""
    from compose.cli.tables import ago, human_size, short_id
    from compose.observed import parse_time
    from compose.session import observe

    project = load(opts, services, by_name=True)

    async def flow(client: EngineClient) -> list[dict[str, Any]]:
        from compose.client import EngineError

        observed = await observe(client, project.name)
        rows = []
        for c in sorted(observed.containers, key=lambda c: c.name):
            if services and c.service not in services:
                continue
            try:
                image = await (await client.get(f"/images/{c.image_id}/json")).json()
            except EngineError as exc:
                if exc.status != 404:
                    raise
                image = {"Id": c.image_id}  # removed since: its id is all that is known
            rows.append(image_row(c.name, image, c.image))
        return rows

    rows = call(flow)
    if quiet:
        seen: list[str] = []
        for row in rows:
            if row["ID"].split(":")[-1] not in seen:
                seen.append(row["ID"].split(":")[-1])
        click.echo("".join(i + "\n" for i in seen), nl=False)
        return
    if fmt.strip() in ("", "table"):
        table = [{**row, "Repository": row["Repository"] or "<none>", "Tag": row["Tag"] or "<none>",
                  "ID": short_id(row["ID"]), "Size": human_size(row["Size"]),
                  "Created": ago(parse_time(row["Created"]) or 0) if row.get("Created") else "N/A"} for row in rows]
        headers = [("ContainerName", "CONTAINER"), ("Repository", "REPOSITORY"), ("Tag", "TAG"),
                   ("Platform", "PLATFORM"), ("ID", "IMAGE ID"), ("Size", "SIZE"), ("Created", "CREATED")]
        click.echo(formatted(table, "table", headers), nl=False)
        return
    click.echo(formatted(rows, fmt, []), nl=False)


@click.command("port")
@click.argument("service")
@click.argument("private_port")
@click.option("--protocol", type=click.Choice(["tcp", "udp"]), default="tcp", help="tcp or udp.")
@click.option("--index", type=int, default=0, help="Index of the container if service has multiple replicas.")
@click.pass_obj
def port(opts: GlobalOptions, service: str, private_port: str, protocol: str, index: int) -> None:
    """Print the public port for a port binding."""
    from compose.cli.project_cmd import open_session

    if not private_port.isdigit():
        raise ComposeError(f"invalid port: {private_port}")
    project = load(opts, (service,))

    async def flow(client: EngineClient) -> str:
        session = open_session(client, opts, project)
        if service not in project.services:
            raise ComposeError(f"no such service: {service}")
        observed = await session.observe()
        replicas = sorted(observed.service_containers(service), key=lambda c: c.number or 0)
        if not replicas:
            raise ComposeError(f"service {service!r} has no container")
        chosen = [c for c in replicas if c.number == index] if index else replicas[:1]
        if not chosen:
            raise ComposeError(f'service "{service}" has no container #{index}')
        doc = await (await client.get(f"/containers/{chosen[0].id}/json")).json()
        bindings = ((doc.get("NetworkSettings") or {}).get("Ports") or {}).get(f"{private_port}/{protocol}")
        for binding in bindings or []:
            return f"{binding.get('HostIp') or '0.0.0.0'}:{binding.get('HostPort')}"
        raise ComposeError(f"no port {private_port}/{protocol} for container {chosen[0].name}: "
                           f"{_published(doc, chosen[0].name)}")

    click.echo(call(flow))


def _published(doc: Mapping[str, Any], name: str) -> str:
    ports = (doc.get("NetworkSettings") or {}).get("Ports") or {}
    shown = [f"{key} -> {b.get('HostIp') or '0.0.0.0'}:{b.get('HostPort')}" for key, value in sorted(ports.items())
             for b in value or []]
    return ", ".join(shown) or "none published"
