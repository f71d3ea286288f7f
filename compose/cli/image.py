"""`pycompose image …`: docker's image commands over the Engine API.

Output follows the docker CLI (columns, units, `Untagged:`/`Deleted:`
lines, prune's question and report), so scripts written for `docker image`
work unchanged. Rows and reports are built by pure functions over the
API's JSON; the commands only fetch and print.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from compose.cli import image_transfer, tables
from compose.cli.engine_group import (
    Target,
    confirm_and_prune,
    each,
    engine_group,
    inspect_each,
    parse_filters,
    pass_target,
)
from compose.cli.image_rows import (
    HISTORY,
    IMAGES,
    IMAGES_WITH_DIGESTS,
    history_rows,
    image_rows,
    message_text,
    prune_report,
    removal_lines,
    split_reference,
)

if TYPE_CHECKING:
    from compose.client import EngineClient, Response

CHUNK = 1 << 20

image = engine_group("image", "Manage images (docker image …).", {"list": "ls", "remove": "rm", "delete": "rm"})
image.add_command(image_transfer.pull)
image.add_command(image_transfer.push)


async def print_stream(response: Response, out: IO[str], quiet: bool = False) -> None:
    async for message in response.json_stream():
        text = message_text(message)
        if text and not (quiet and "stream" not in message):
            out.write(text)
            out.flush()


async def file_chunks(source: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := source.read(CHUNK):
        yield chunk


class BoolArg(click.ParamType):
    """A boolean that also takes docker's `-H=false` spelling."""

    name = "boolean"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).lstrip("=").strip().lower()
        if text in ("1", "true", "t", "yes", "y", "on"):
            return True
        if text in ("0", "false", "f", "no", "n", "off"):
            return False
        self.fail(f"{value!r} is not a valid boolean", param, ctx)


# commands


@image.command("ls")
@click.argument("reference", required=False)
@click.option("-a", "--all", "show_all", is_flag=True, help="Show all images.")
@click.option("--digests", is_flag=True, help="Show digests.")
@click.option("-f", "--filter", "filters", multiple=True, metavar="KEY=VALUE",
              help="Filter: reference=, dangling=, label=, before=, since=, until=.")
@click.option("--format", "fmt", default=None, help="table, json, or a Go template.")
@click.option("--no-trunc", is_flag=True, help="Do not truncate output.")
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs.")
@pass_target
def ls(target: Target, reference: str | None, show_all: bool, digests: bool, filters: tuple[str, ...],
       fmt: str | None, no_trunc: bool, quiet: bool) -> None:
    """List images."""
    spec = parse_filters(filters)
    if reference:
        spec.setdefault("reference", []).append(reference)

    async def work(client: EngineClient) -> Any:
        return await (await client.get("/images/json", {"all": show_all, "filters": spec or None})).json()

    rows = image_rows(target.call(work), digests, no_trunc)
    listing = IMAGES
    if digests and fmt in (None, "", "table"):
        fmt = IMAGES_WITH_DIGESTS
    sys.stdout.write(tables.render(rows, listing, fmt, quiet))


@image.command()
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", default=None, help="json, or a Go template.")
@pass_target
def inspect(target: Target, names: tuple[str, ...], fmt: str | None) -> None:
    """Display detailed information on one or more images."""
    inspect_each(target, names, fmt, "/images/{}/json")


@image.command()
@click.argument("name")
@click.option("--format", "fmt", default=None, help="table, json, or a Go template.")
@click.option("-H", "--human", type=BoolArg(), default=True, show_default=True, help="Sizes and dates for humans.")
@click.option("--no-trunc", is_flag=True, help="Do not truncate output.")
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs.")
@pass_target
def history(target: Target, name: str, fmt: str | None, human: bool, no_trunc: bool, quiet: bool) -> None:
    """Show the history of an image."""

    async def work(client: EngineClient) -> Any:
        return await (await client.get(f"/images/{name}/history")).json()

    rows = history_rows(target.call(work), human, no_trunc)
    sys.stdout.write(tables.render(rows, HISTORY, fmt, quiet))


@image.command()
@click.argument("source")
@click.argument("target_ref", metavar="TARGET")
@pass_target
def tag(target: Target, source: str, target_ref: str) -> None:
    """Create a tag TARGET that refers to SOURCE."""
    repo, tag_name, digest = split_reference(target_ref)
    if digest:
        raise click.UsageError(f"refusing to create a tag with a digest reference: {target_ref}")

    async def work(client: EngineClient) -> None:
        await (await client.post(f"/images/{source}/tag", {"repo": repo, "tag": tag_name or "latest"})).read()

    target.call(work)


@image.command()
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Force removal of the image.")
@click.option("--no-prune", is_flag=True, help="Do not delete untagged parents.")
@pass_target
def rm(target: Target, names: tuple[str, ...], force: bool, no_prune: bool) -> None:
    """Remove one or more images."""

    async def remove(client: EngineClient, name: str) -> None:
        response = await client.delete(f"/images/{name}", {"force": force, "noprune": no_prune})
        for line in removal_lines(await response.json() or []):
            print(line, flush=True)

    each(target, names, remove, echo=False)


@image.command()
@click.option("-a", "--all", "prune_all", is_flag=True, help="Remove all unused images, not just dangling ones.")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.option("--filter", "filters", multiple=True, metavar="KEY=VALUE", help="Filter: until=, label=, label!=.")
@pass_target
def prune(target: Target, prune_all: bool, force: bool, filters: tuple[str, ...]) -> None:
    """Remove unused images."""
    spec = parse_filters(filters)
    spec["dangling"] = ["false" if prune_all else "true"]
    what = ("all images without at least one container associated to them" if prune_all
            else "all dangling images")
    confirm_and_prune(target, "/images/prune", spec, f"WARNING! This will remove {what}.", force, prune_report)


@image.command("import")
@click.argument("source", metavar="FILE|URL|-")
@click.argument("reference", metavar="[REPOSITORY[:TAG]]", required=False)
@click.option("-c", "--change", "changes", multiple=True, help="Apply a Dockerfile instruction (repeatable).")
@click.option("-m", "--message", default=None, help="Commit message for the imported image.")
@click.option("--platform", default=None, hidden=True)
@pass_target
def import_(target: Target, source: str, reference: str | None, changes: tuple[str, ...], message: str | None,
            platform: str | None) -> None:
    """Import the contents from a tarball to create a filesystem image."""
    url = source.startswith(("http://", "https://"))
    params = {"fromSrc": source if url else "-", "repo": reference, "message": message, "changes": list(changes),
              "platform": platform}
    stream = None if url else _open_input(None if source == "-" else source)

    async def work(client: EngineClient) -> None:
        body = file_chunks(stream) if stream is not None else b""
        await print_stream(await client.post("/images/create", params, body=body), sys.stdout)

    try:
        target.call(work)
    finally:
        if stream is not None and stream is not sys.stdin.buffer:
            stream.close()


@image.command()
@click.option("-i", "--input", "path", default=None, metavar="FILE", help="Read from a tar archive, not stdin.")
@click.option("-q", "--quiet", is_flag=True, help="Suppress the load output.")
@pass_target
def load(target: Target, path: str | None, quiet: bool) -> None:
    """Load an image from a tar archive or STDIN."""
    if path is None and sys.stdin.isatty():
        raise click.ClickException("requested load from stdin, but stdin is empty")
    stream = _open_input(path)

    async def work(client: EngineClient) -> None:
        response = await client.post("/images/load", {"quiet": quiet}, body=file_chunks(stream),
                                     headers={"Content-Type": "application/x-tar"})
        await print_stream(response, sys.stdout, quiet)

    try:
        target.call(work)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


@image.command()
@click.argument("names", nargs=-1, required=True)
@click.option("-o", "--output", default=None, metavar="FILE", help="Write to a file, not stdout.")
@pass_target
def save(target: Target, names: tuple[str, ...], output: str | None) -> None:
    """Save one or more images to a tar archive (streamed to stdout by default)."""
    if output is None and sys.stdout.isatty():
        raise click.ClickException("cowardly refusing to save to a terminal. Use the -o flag or redirect")

    async def work(client: EngineClient, out: IO[bytes]) -> None:
        response = await client.get("/images/get", {"names": list(names)})
        async for chunk in response.stream():
            out.write(chunk)
        out.flush()

    if output is None:
        target.call(lambda client: work(client, sys.stdout.buffer))
        return
    # Docker writes next to the destination and renames: no half archive under the name.
    where = Path(output).absolute()
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{where.name}.", dir=where.parent)
    except OSError as exc:
        raise click.FileError(output, exc.strerror) from None
    try:
        with os.fdopen(fd, "wb") as out:
            target.call(lambda client: work(client, out))
        os.chmod(temp, 0o644)
        os.replace(temp, where)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _open_input(path: str | None) -> IO[bytes]:
    if path is None:
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as exc:
        raise click.FileError(path, exc.strerror) from None
