"""`pycompose run SERVICE [COMMAND…]`: a one-off container of a service.

Dependencies are brought up first (unless --no-deps), as `up` would, and
their `depends_on` conditions awaited. The one-off container is the
service's container with Docker Compose's differences: named
`<project>-<service>-run-<slug>`, labelled oneoff, no restart policy, no
published ports unless --service-ports (or -p), no network aliases but its
name unless --use-aliases. Attached runs exit with the container's status.
"""

from __future__ import annotations

import os
import secrets
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from compose import labels as L
from compose.cli.main import GlobalOptions
from compose.cli.project_cmd import engine_host, load, open_session
from compose.errors import ComposeError, warn

if TYPE_CHECKING:
    from compose.client import EngineClient
    from compose.model import Project
    from compose.observed import ObservedState
    from compose.session import Session

_SETTINGS = {"allow_interspersed_args": False}


@dataclass(frozen=True)
class RunOptions:
    service: str
    command: tuple[str, ...] = ()
    detach: bool = False
    remove: bool = False
    name: str | None = None
    env: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    publish: tuple[str, ...] = ()
    service_ports: bool = False
    use_aliases: bool = False
    entrypoint: str | None = None
    user: str | None = None
    workdir: str | None = None
    tty: bool = False
    interactive: bool = True
    labels: tuple[str, ...] = ()
    pull: str | None = None
    quiet_pull: bool = False
    build: str = "auto"  # compose/plan/pull.py's build mode: `--build` forces one


def _env(base: list[str], extra: list[str]) -> list[str]:
    keys = {e.partition("=")[0] for e in extra}
    return [e for e in base if e.partition("=")[0] not in keys] + extra


def one_off_body(project: Project, observed: ObservedState, opts: RunOptions, slug: str,
                 image_id: str | None = None) -> tuple[str, dict[str, Any]]:
    """(container name, create body) of the one-off container."""
    from compose.cli.container_create import environment, port_bindings, volume
    from compose.plan import config_hashes, container_body

    svc = project.services[opts.service]
    name = opts.name or L.oneoff_name(project.name, svc.name, slug)
    refs: dict[str, Any] = {}
    for other in project.services:
        existing = observed.service_containers(other)
        if existing:
            refs[other] = existing[0].id
    extra = dict(label.partition("=")[::2] for label in opts.labels)
    body = container_body(project, svc, 0, config_hashes(project)[svc.name], name=name, refs=refs, oneoff=True,
                          image_id=image_id, extra_labels={**extra, L.SLUG: slug})
    if opts.command:
        body["Cmd"] = list(opts.command)
    if opts.entrypoint is not None:
        body["Entrypoint"] = shlex.split(opts.entrypoint) or [""]
    body["Env"] = _env(list(body.get("Env") or []), environment(opts.env, os.environ))
    for key, value in (("User", opts.user), ("WorkingDir", opts.workdir)):
        if value:
            body[key] = value
    body.update(Tty=opts.tty, OpenStdin=opts.interactive and not opts.detach,
                AttachStdin=opts.interactive and not opts.detach, StdinOnce=opts.interactive and not opts.detach)
    host = body.setdefault("HostConfig", {})
    host["RestartPolicy"] = {"Name": "no"}
    host["AutoRemove"] = opts.remove
    if not opts.service_ports:
        host.pop("PortBindings", None)
    for spec in opts.publish:
        for port, bindings in port_bindings(spec).items():
            host.setdefault("PortBindings", {}).setdefault(port, []).extend(bindings)
            body.setdefault("ExposedPorts", {})[port] = {}
    for spec in opts.volumes:
        bind, anonymous = volume(spec)
        if bind is not None:
            host.setdefault("Binds", []).append(bind)
        else:
            body.setdefault("Volumes", {})[anonymous] = {}
    for endpoint in ((body.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}).values():
        if not opts.use_aliases:
            endpoint["Aliases"] = [name]
    return name, body


async def start_dependencies(session: Session, service: str) -> None:
    """Bring up what `service` depends on, then wait for its depends_on conditions."""
    from compose.conditions import STARTED, Verdict, failure_message
    from compose.plan import UpOptions
    from compose.waiting import wait_condition

    project = session.project
    svc = project.services[service]
    deps = tuple(sorted(d for d in svc.depends_on if d in project.services))
    if not deps:
        return
    await session.converge(UpOptions(services=deps))
    observed = await session.observe()
    for dep, config in sorted(svc.depends_on.items()):
        if config.condition == STARTED or dep not in project.services:
            continue
        for c in observed.service_containers(dep):
            outcome = await wait_condition(session.client, c.id, config.condition)
            if outcome.verdict is Verdict.FAILED:
                message = failure_message(config.condition, outcome.reason, dep, config.required)
                if config.required:
                    raise ComposeError(message)
                warn(message)


async def run_one_off(session: Session, opts: RunOptions, no_deps: bool) -> int:
    from compose.cli.container_run import attach_start_wait, create, start

    client, project = session.client, session.project
    if not no_deps:
        await start_dependencies(session, opts.service)
    images = await session.resolve_images([opts.service], opts.pull, opts.quiet_pull, opts.build)
    observed = await _ensure_networks(session, opts.service, await session.observe())
    name, body = one_off_body(project, observed, opts, secrets.token_hex(32), images.get(opts.service))
    container = await create(client, body, name, pull="never")
    await _copy_files(client, project, opts.service, container)
    if opts.detach:
        await start(client, container)
        print(name, flush=True)
        return 0
    return await attach_start_wait(client, container, opts.tty, opts.interactive,
                                   "removed" if opts.remove else "next-exit")


async def _ensure_networks(session: Session, service: str, observed: ObservedState) -> ObservedState:
    """The service's networks that are not there yet are made first (as `up` would), so a one-off of a fresh
    project runs; an external one that is missing is an error."""
    from compose.plan.resources import network_body

    project = session.project
    svc = project.services[service]
    missing = [] if svc.network_mode else [k for k in svc.networks if project.networks[k].name not in observed.networks]
    for key in missing:
        resource = project.networks[key]
        if resource.external:
            raise ComposeError(f"network {resource.name} declared as external, but could not be found")
        await (await session.client.post("/networks/create", json=network_body(project, key))).read()
    return await session.observe() if missing else observed


async def _copy_files(client: EngineClient, project: Project, service: str, container: str) -> None:
    """Secrets and configs from `environment`/`content`, written in before the start (as `up` does)."""
    from compose.engine_calls import EngineCalls
    from compose.plan.injected import copied_files

    files = copied_files(project, project.services[service].config)
    if files:
        await EngineCalls(client).copy_to_container(container, "/", files)


@click.command("run", context_settings=_SETTINGS)
@click.argument("service")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("-d", "--detach", is_flag=True, help="Run container in background and print its name.")
@click.option("--rm", "remove", is_flag=True, help="Automatically remove the container when it exits.")
@click.option("--name", default=None, help="Assign a name to the container.")
@click.option("-e", "--env", multiple=True, metavar="KEY=VAL", help="Set environment variables.")
@click.option("-l", "--label", "labels", multiple=True, metavar="KEY=VAL", help="Add or override a label.")
@click.option("-v", "--volume", "volumes", multiple=True, help="Bind mount a volume.")
@click.option("-p", "--publish", multiple=True, help="Publish a container's port(s) to the host.")
@click.option("--service-ports", is_flag=True, help="Run with the service's ports enabled and mapped to the host.")
@click.option("--use-aliases", is_flag=True, help="Use the service's network aliases in the networks it joins.")
@click.option("--no-deps", is_flag=True, help="Don't start linked services.")
@click.option("--entrypoint", default=None, help="Override the entrypoint of the image.")
@click.option("-u", "--user", default=None, help="Run as specified username or uid.")
@click.option("-w", "--workdir", default=None, help="Working directory inside the container.")
@click.option("-T", "--no-TTY", "no_tty", is_flag=True, help="Disable pseudo-TTY allocation.")
@click.option("-i", "--interactive/--no-interactive", default=True, help="Keep STDIN open even if not attached.")
@click.option("--build", is_flag=True, help="Build image before starting container.")
@click.option("--pull", type=click.Choice(["always", "missing", "never"]), default=None,
              help="Pull image before running (always, missing, never).")
@click.option("--quiet-pull", is_flag=True, help="Pull without printing progress information.")
@click.pass_obj
def run(gopts: GlobalOptions, service: str, command: tuple[str, ...], no_deps: bool, no_tty: bool, build: bool,
        pull: str | None, quiet_pull: bool, **flags: Any) -> None:
    """Run a one-off command on a service."""
    from compose.cli.container_run import call_run
    from compose.cli.engine_group import Target
    from compose.plan.pull import AUTO, FORCE

    project = load(gopts, (service,))
    if service not in project.services:
        raise ComposeError(f"no such service: {service}")
    tty = not no_tty and os.isatty(0) and sys.stdout.isatty() and not flags["detach"]
    opts = RunOptions(service=service, command=tuple(command), tty=tty, pull=pull, quiet_pull=quiet_pull,
                      build=FORCE if build else AUTO,
                      **_flags(flags))

    async def flow(client: EngineClient) -> int:
        return await run_one_off(open_session(client, gopts, project), opts, no_deps)

    call_run(Target(engine_host()), flow)


def _flags(flags: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("detach", "remove", "name", "env", "volumes", "publish", "service_ports", "use_aliases", "entrypoint",
            "user", "workdir", "interactive", "labels")
    return {k: flags[k] for k in keys}
