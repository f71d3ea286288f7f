"""`cp`: copy files between a service's containers and the local filesystem, with docker cp's rules.

`SERVICE:SRC DEST` copies out of replica `--index` (1 by default) through
`GET /containers/{id}/archive`; `SRC SERVICE:DEST` copies into every replica
(or `--index`) through `PUT`. As `docker cp`: a destination that is an
existing directory receives the source under its own name (`SRC/.` its
contents); one that does not exist becomes the copy; `-` is a tar stream on
stdin or stdout. `-a` keeps the files' uid/gid in the container, `-L`
follows a symlink that is the source itself.
"""

from __future__ import annotations

import base64
import io
import json
import os
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import click

from compose.cli.main import GlobalOptions
from compose.cli.project_cmd import call, load, open_session, progress, step
from compose.errors import ComposeError

if TYPE_CHECKING:
    from compose.client import EngineClient
    from compose.observed import ObservedContainer

_SYMLINK = 1 << 27  # Go's os.ModeSymlink
_DIR = 1 << 31  # Go's os.ModeDir


@dataclass(frozen=True)
class Endpoint:
    service: str | None  # None: the local side
    path: str


def endpoint(text: str) -> Endpoint:
    """`SERVICE:PATH` names a container path; a local path has no colon before its first slash."""
    head, sep, tail = text.partition(":")
    if sep and head and "/" not in head and not text.startswith((".", "/")):
        return Endpoint(head, tail)
    return Endpoint(None, text)


def path_stat(header: str | None) -> dict[str, Any]:
    return json.loads(base64.b64decode(header)) if header else {}


def renamed(name: str, old: str, new: str) -> str:
    """`old` (the archive's root entry) as `new`, whatever lies under it."""
    if name == old:
        return new
    return new + name[len(old):] if name.startswith(old + "/") else name


def local_tar(src: str, root: str, follow: bool) -> bytes:
    """The local `src` as a tar whose root entry is `root` (`.`-rooted contents when `root` is empty)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", dereference=False) as tar:
        path = os.path.realpath(src) if follow else src
        if not root:
            for entry in sorted(os.listdir(path)):
                tar.add(os.path.join(path, entry), arcname=entry)
        else:
            tar.add(path, arcname=root)
    return buffer.getvalue()


async def copy_in(client: EngineClient, container: str, src: str, dest: str, archive: bool, follow: bool) -> None:
    from compose.client import EngineError

    if src == "-":
        data, into = sys.stdin.buffer.read(), dest
    else:
        if not os.path.lexists(src):
            raise ComposeError(f"stat {src}: no such file or directory")
        try:
            stat = path_stat((await client.head(f"/containers/{container}/archive", {"path": dest}))
                             .header("X-Docker-Container-Path-Stat"))
        except EngineError as exc:
            if exc.status != 404:
                raise
            stat = {}
        contents = src.endswith("/.") or src.endswith("/./")
        base = os.path.basename(os.path.normpath(src))
        if stat and int(stat.get("mode", 0)) & _DIR:
            into, root = dest, "" if contents else base
        elif stat:
            into, root = str(PurePosixPath(dest).parent), PurePosixPath(dest).name
        else:
            if dest.endswith("/") and not os.path.isdir(src):
                raise ComposeError(f'destination directory "{dest}" does not exist')
            into, root = str(PurePosixPath(dest).parent), PurePosixPath(dest.rstrip("/")).name
        data = local_tar(src, root, follow)
    params: dict[str, Any] = {"path": into}
    if archive:
        params["copyUIDGID"] = True
    await (await client.put(f"/containers/{container}/archive", params, body=data,
                            headers={"Content-Type": "application/x-tar"})).read()


async def copy_out(client: EngineClient, container: str, src: str, dest: str, follow: bool) -> None:
    from compose.client import EngineError

    path = src
    try:
        stat = path_stat((await client.head(f"/containers/{container}/archive", {"path": src}))
                         .header("X-Docker-Container-Path-Stat"))
    except EngineError as exc:
        if exc.status == 404:  # a HEAD answer has no body to say it: dockerd's words
            raise ComposeError(f"Could not find the file {src} in container {container[:12]}") from None
        raise
    if follow and int(stat.get("mode", 0)) & _SYMLINK and stat.get("linkTarget"):
        path = stat["linkTarget"]
    response = await client.get(f"/containers/{container}/archive", {"path": path})
    data = await response.read()
    if dest == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    root = PurePosixPath(path.rstrip("/") or "/").name
    into, new_root = local_place(src, dest)
    extract(data, into, lambda n: renamed(n, root, new_root or root))


def local_place(src: str, dest: str) -> tuple[str, str]:
    """Where a copied-out tree goes and the name its root takes ("" keeps it; "." its contents only)."""
    if os.path.isdir(dest):
        if src.endswith("/.") or src.endswith("/./"):
            return dest, "."
        return dest, PurePosixPath(src.rstrip("/")).name
    parent = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(parent):
        raise ComposeError(f"destination directory {parent} does not exist")
    return parent, os.path.basename(dest.rstrip("/"))


def extract(data: bytes, into: str, rename: Callable[[str], str]) -> None:
    """The tar under `into`, its names renamed, owned by the user who runs the copy (as docker cp)."""
    uid, gid = os.getuid(), os.getgid()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
        for member in members:
            member.name = rename(member.name)
            member.uid, member.gid, member.uname, member.gname = uid, gid, "", ""
        tar.extractall(into, members=[m for m in members if m.name not in ("", ".")], filter="tar")


def _pick(containers: list[ObservedContainer], index: int | None, service: str) -> list[ObservedContainer]:
    if not containers:
        raise ComposeError(f"no container found for service {service!r}")
    if index:
        chosen = [c for c in containers if c.number == index]
        if not chosen:
            raise ComposeError(f'service "{service}" is not running container #{index}')
        return chosen
    return containers


@click.command("cp")
@click.argument("source")
@click.argument("destination")
@click.option("--index", type=int, default=None, help="Index of the container if service has multiple replicas.")
@click.option("--all", "all_", is_flag=True, hidden=True, help="Include containers created by the run command.")
@click.option("-a", "--archive", is_flag=True, help="Archive mode (copy all uid/gid information).")
@click.option("-L", "--follow-link", is_flag=True, help="Always follow symbol link in SRC_PATH.")
@click.pass_obj
def cp(opts: GlobalOptions, source: str, destination: str, index: int | None, all_: bool, archive: bool,
       follow_link: bool) -> None:
    """Copy files/folders between a service container and the local filesystem."""
    src, dest = endpoint(source), endpoint(destination)
    if (src.service is None) == (dest.service is None):
        raise ComposeError("copying between services is not supported" if src.service else
                           "must specify at least one container source")
    service = str(src.service or dest.service)
    project = load(opts, (), by_name=True)

    async def flow(client: EngineClient) -> None:
        observed = await open_session(client, opts, project).observe()
        replicas = observed.service_containers(service) + (observed.service_containers(service, True) if all_ else [])
        if src.service is not None:
            chosen = _pick(replicas, index or 1, service)[0]
            await copy_out(client, chosen.id, src.path, dest.path, follow_link)
            return
        with progress(opts, "Copying") as display:
            for c in _pick(replicas, index, service):
                resource = f"{service} copy {src.path} to {c.name}:{dest.path}"
                if opts.dry_run:
                    from compose.dry_run import PREFIX, nothing

                    await step(display, PREFIX + resource, "Copying", "Copied", nothing())
                    continue
                work = copy_in(client, c.id, src.path, dest.path, archive, follow_link)
                await step(display, resource, "Copying", "Copied", work)

    call(flow)
