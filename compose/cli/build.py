"""`pycompose build`: build (or rebuild) the project's services, as `docker compose build`.

Services with a build section among those named (all when none is;
`--with-dependencies` adds what they depend on) are built through
compose/build, in dependency order and in parallel where independent, each
with a progress line (the build's output under it unless `-q`). A failure
is one line: `path/Dockerfile:LINE: message` for an error in a Dockerfile,
`service "web" failed to build: …` otherwise; the exit code is 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import click

from compose.cli.main import GlobalOptions
from compose.cli.project_cmd import call, load, open_session
from compose.errors import ComposeError

if TYPE_CHECKING:
    from compose.build.spec import BuildFlags
    from compose.client import EngineClient


def parse_build_args(values: Iterable[str]) -> dict[str, str | None]:
    """`--build-arg K=V` (repeatable); `K` alone takes its value from the environment."""
    out: dict[str, str | None] = {}
    for value in values:
        key, sep, arg = value.partition("=")
        if not key.strip():
            raise click.BadParameter(f"{value!r}: expected KEY=VALUE", param_hint="--build-arg")
        out[key.strip()] = arg if sep else None
    return out


def build_flags(flags: Mapping[str, Any]) -> BuildFlags:
    from compose.build.spec import BuildFlags

    memory = 0
    if flags.get("memory"):
        from compose.loader.units import parse_bytes

        try:
            memory = parse_bytes(flags["memory"])
        except (TypeError, ValueError):
            raise click.BadParameter(f"invalid size: {flags['memory']!r}", param_hint="--memory") from None
    return BuildFlags(no_cache=bool(flags.get("no_cache")), pull=bool(flags.get("pull")),
                      quiet=bool(flags.get("quiet")), build_args=parse_build_args(flags.get("build_arg") or ()),
                      memory=memory)


def build_mode(flags: Mapping[str, Any]) -> str:
    """`--build`/`--no-build` of up, create and run as compose/plan/pull.py's build mode."""
    from compose.plan.pull import AUTO, FORCE, NO_BUILD

    if flags.get("build") and flags.get("no_build"):
        raise click.UsageError("--build and --no-build are incompatible")
    return FORCE if flags.get("build") else NO_BUILD if flags.get("no_build") else AUTO


@click.command("build")
@click.argument("services", nargs=-1)
@click.option("--build-arg", multiple=True, metavar="KEY=VALUE", help="Set build-time variables for services.")
@click.option("--no-cache", is_flag=True, help="Do not use cache when building the image.")
@click.option("--pull", is_flag=True, help="Always attempt to pull a newer version of the image.")
@click.option("-q", "--quiet", is_flag=True, help="Don't print anything to STDOUT.")
@click.option("--with-dependencies", is_flag=True, help="Also build dependencies (transitively).")
@click.option("-m", "--memory", default=None, metavar="BYTES", help="Set memory limit for the build container.")
@click.option("--ssh", default=None, help="Set SSH authentications used when building service images.")
@click.pass_obj
def build(opts: GlobalOptions, services: tuple[str, ...], **flags: Any) -> None:
    """Build or rebuild services."""
    from compose.progress import Progress
    from compose.session import selected_services

    if flags["ssh"]:
        raise ComposeError("--ssh: ssh forwarding needs BuildKit, and the engine speaks the classic builder protocol")
    project = load(opts, services)
    unknown = sorted(set(services) - set(project.services))
    if unknown:
        raise ComposeError(f"no such service: {unknown[0]}")
    chosen = selected_services(project, services, not flags["with_dependencies"])
    options = build_flags(flags)

    async def work(client: EngineClient) -> dict[str, str]:
        session = open_session(client, opts, project)
        if flags["quiet"]:
            session.display = lambda title: Progress()
        return await session.build(chosen, options, show_output=not flags["quiet"])

    call(work)
