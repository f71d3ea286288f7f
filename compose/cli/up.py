"""`pycompose up`: converge the project, then (unless detached) stream its logs until it stops.

Attached, the engine's events are subscribed before the plan runs, so no
start or exit is missed; the logs of the attached services are followed
from the moment `up` began, with Docker Compose's `web-1  | ` prefixes.
The first Ctrl-C stops the services gracefully, the second kills them.
`--abort-on-container-exit` (and `--exit-code-from`, and
`--abort-on-container-failure`) stop everything when a container exits.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
import click

from compose.cli.build import build_mode
from compose.cli.main import GlobalOptions
from compose.cli.project_cmd import call, load, open_session, use_color
from compose.errors import ComposeError
from compose.session import selected_services

if TYPE_CHECKING:
    from compose.logstream import Exit
    from compose.model import Project
    from compose.plan import UpOptions
    from compose.session import Session

PULL_POLICIES = ("always", "missing", "never", "build")


def parse_scale(values: Iterable[str]) -> dict[str, int]:
    out = {}
    for value in values:
        name, sep, number = value.partition("=")
        try:
            out[name.strip()] = int(number)
        except ValueError:
            raise click.BadParameter(f"{value!r}: expected SERVICE=NUMBER", param_hint="--scale") from None
        if not sep or not name.strip():
            raise click.BadParameter(f"{value!r}: expected SERVICE=NUMBER", param_hint="--scale")
    return out


@dataclass
class Attached:
    """How an attached `up` ends: by itself, by an exit that aborts, or by Ctrl-C."""

    abort_on_exit: bool = False
    abort_on_failure: bool = False
    exit_code_from: str | None = None
    interrupts: int = 0
    forced: bool = False
    abort: Exit | None = None
    exits: dict[str, int | None] = field(default_factory=dict)  # service -> code of its last exit
    follow: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    stopping: anyio.CancelScope | None = None

    def on_exit(self, event: Exit) -> None:
        self.exits[event.service] = event.code
        failed = event.code not in (0, None)
        if self.abort is None and (self.abort_on_exit or (self.abort_on_failure and failed)):
            self.abort = event
            self.follow.cancel()

    async def watch_signals(self) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
            async for _ in received:
                self.interrupts += 1
                if self.interrupts == 1:
                    sys.stderr.write("Gracefully stopping... (press Ctrl+C again to force)\n")
                    sys.stderr.flush()
                    self.follow.cancel()
                else:
                    self.forced = True
                    if self.stopping is not None:
                        self.stopping.cancel()

    def status(self) -> int:
        if self.interrupts:
            return 130
        if self.exit_code_from is not None:
            return self.exits.get(self.exit_code_from) or 0
        if self.abort is not None:
            return self.abort.code or 0
        return 0


async def _stop(session: Session, services: Iterable[str], timeout: int | None) -> None:
    from compose.plan import plan_stop

    plan = plan_stop(session.project, await session.observe(), tuple(sorted(services)), timeout)
    await session.execute(plan, "Stopping")


async def _kill(session: Session, services: Iterable[str]) -> None:
    from compose.plan import plan_kill

    plan = plan_kill(session.project, await session.observe(), tuple(sorted(services)))
    plan.warnings.clear()  # a forced stop that finds everything stopped already is no news
    await session.run(plan)


async def attached_up(session: Session, opts: GlobalOptions, options: UpOptions, flags: Mapping[str, Any],
                      attach: set[str]) -> int:
    """Converge, then follow the attached services' logs until they stop; the exit status."""
    from compose.logstream import LogOptions, LogPrinter, ProjectLogs

    client, project = session.client, session.project

    state = Attached(bool(flags["abort_on_container_exit"] or flags["exit_code_from"]),
                     bool(flags["abort_on_container_failure"]), flags["exit_code_from"])
    printer = LogPrinter(sys.stdout.buffer, sys.stderr.buffer, color=use_color(opts, flags["no_color"]),
                         prefix=not flags["no_log_prefix"])
    began = time.time()
    logs = ProjectLogs(client, project.name, printer, LogOptions(follow=True, since=f"{began:.6f}",
                                                                 timestamps=bool(flags["timestamps"])),
                       services=frozenset(attach), on_exit=state.on_exit)
    subscription = await logs.subscribe()
    try:
        await session.converge(options, flags["pull"], flags["quiet_pull"], build_mode(flags))
        containers = await logs.containers()
        if not containers:
            return 0
        names = [printer_name(c) for c in containers]
        sys.stdout.write(f"Attaching to {', '.join(names)}\n")
        sys.stdout.flush()
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(state.watch_signals)
            with state.follow:
                await logs.follow(subscription, containers, history_of_stopped=False)
            if state.interrupts or state.abort is not None:
                if state.abort is not None and not state.interrupts:
                    sys.stdout.write("Aborting on container exit...\n")
                    sys.stdout.flush()
                running = selected_services(project, options.services, options.no_deps)
                state.stopping = anyio.CancelScope()
                with state.stopping:
                    await _stop(session, running, options.timeout)
                if state.forced:
                    await _kill(session, running)
            tasks.cancel_scope.cancel()
        if state.exit_code_from is not None and state.exit_code_from not in state.exits:
            await _exit_code_after_stop(session, state)
        return state.status()
    finally:
        with anyio.CancelScope(shield=True):
            await subscription.aclose()


async def _exit_code_after_stop(session: Session, state: Attached) -> None:
    observed = await session.observe()
    for c in observed.service_containers(state.exit_code_from or ""):
        state.exits[state.exit_code_from or ""] = c.exit_code
        return


def printer_name(summary: Mapping[str, Any]) -> str:
    from compose.logstream import display_name, summary_labels, summary_name

    return display_name(summary_name(summary), summary_labels(summary))


def _check(flags: Mapping[str, Any]) -> None:
    cascade = flags["abort_on_container_exit"] or flags["exit_code_from"]
    if cascade and flags["abort_on_container_failure"]:
        raise click.UsageError("--abort-on-container-failure cannot be combined with --abort-on-container-exit "
                               "or --exit-code-from")
    if flags["detach"] and (cascade or flags["abort_on_container_failure"] or flags["attach"]
                            or flags["attach_dependencies"]):
        raise click.UsageError("--detach cannot be combined with --abort-on-container-exit, "
                               "--abort-on-container-failure, --exit-code-from, --attach or --attach-dependencies")
    if flags["no_start"] and (cascade or flags["abort_on_container_failure"] or flags["wait"]):
        raise click.UsageError("--no-start cannot be combined with --abort-on-container-exit, "
                               "--abort-on-container-failure, --exit-code-from or --wait")
    if flags["build"] and flags["no_build"]:
        raise click.UsageError("--build and --no-build are incompatible")


def attached_services(project: Project, services: tuple[str, ...], flags: Mapping[str, Any]) -> set[str]:
    if flags["attach"]:
        chosen = set(flags["attach"])
    elif flags["attach_dependencies"]:
        chosen = selected_services(project, services, False)
    else:
        chosen = set(services or project.services)
    unknown = sorted((chosen | set(flags["no_attach"])) - set(project.services))
    if unknown:
        raise ComposeError(f"no such service: {unknown[0]}")
    return chosen - set(flags["no_attach"])


@click.command("up")
@click.argument("services", nargs=-1)
@click.option("-d", "--detach", is_flag=True, help="Run containers in the background.")
@click.option("--wait", is_flag=True, help="Wait for services to be running|healthy. Implies detached mode.")
@click.option("--wait-timeout", type=float, default=None, help="Maximum seconds to wait for the project.")
@click.option("--no-deps", is_flag=True, help="Don't start linked services.")
@click.option("--scale", multiple=True, metavar="SERVICE=NUM", help="Scale SERVICE to NUM instances.")
@click.option("--remove-orphans", is_flag=True, help="Remove containers for services not in the compose file.")
@click.option("--abort-on-container-exit", is_flag=True, help="Stop all containers if any container was stopped.")
@click.option("--abort-on-container-failure", is_flag=True,
              help="Stop all containers if any container exited with failure.")
@click.option("--exit-code-from", default=None, metavar="SERVICE",
              help="Return the exit code of the selected service container (implies --abort-on-container-exit).")
@click.option("--no-start", is_flag=True, help="Don't start the services after creating them.")
@click.option("-t", "--timeout", type=int, default=None, help="Shutdown timeout in seconds.")
@click.option("--timestamps", is_flag=True, help="Show timestamps.")
@click.option("--no-color", is_flag=True, help="Produce monochrome output.")
@click.option("--no-log-prefix", is_flag=True, help="Don't print prefix in logs.")
@click.option("--attach", multiple=True, metavar="SERVICE", help="Restrict attaching to these services.")
@click.option("--no-attach", multiple=True, metavar="SERVICE", help="Do not attach (stream logs) to these services.")
@click.option("--attach-dependencies", is_flag=True, help="Also attach to the dependencies' logs.")
@click.option("--pull", type=click.Choice(PULL_POLICIES), default=None,
              help="Pull image before running (always, missing, never); replaces every service's pull_policy.")
@click.option("--build", is_flag=True, help="Build images before starting containers.")
@click.option("--no-build", is_flag=True, help="Don't build an image, even if it's policy.")
@click.option("--quiet-pull", is_flag=True, help="Pull without printing progress information.")
@click.option("--force-recreate", is_flag=True, help="Recreate containers even if nothing changed.")
@click.option("--no-recreate", is_flag=True, help="Don't recreate containers that exist.")
@click.option("--always-recreate-deps", is_flag=True, help="Recreate dependent containers.")
@click.option("-V", "--renew-anon-volumes", is_flag=True,
              help="Recreate anonymous volumes instead of reusing those of the previous containers.")
@click.option("-w", "--watch", is_flag=True, help="Watch source code and sync/restart containers when files change.")
@click.pass_obj
def up(opts: GlobalOptions, services: tuple[str, ...], **flags: Any) -> None:
    """Create and start containers."""
    from compose.plan import UpOptions

    _check(flags)
    project = load(opts, services)
    if flags["exit_code_from"] and flags["exit_code_from"] not in project.services:
        raise ComposeError(f"no such service: {flags['exit_code_from']}")
    build = build_mode(flags)
    options = UpOptions(
        services=services, no_deps=flags["no_deps"], force_recreate=flags["force_recreate"],
        no_recreate=flags["no_recreate"], always_recreate_deps=flags["always_recreate_deps"],
        renew_anon_volumes=flags["renew_anon_volumes"], scale=parse_scale(flags["scale"]),
        remove_orphans=flags["remove_orphans"], no_start=flags["no_start"], timeout=flags["timeout"],
        wait=flags["wait"], wait_timeout=flags["wait_timeout"],
    )
    detach = flags["detach"] or flags["wait"] or flags["no_start"] or opts.dry_run  # a dry run follows no logs
    rules = None
    if flags["watch"]:  # imported only then: watchfiles and threads are not every `up`'s cost
        from compose.cli.watch import follow, watch_alongside
        from compose.watch import rules as watch_rules

        rules = watch_rules(project, services)
    if detach:
        call(lambda client: open_session(client, opts, project).converge(options, flags["pull"], flags["quiet_pull"],
                                                                         build))
        if rules and not opts.dry_run:
            follow(project, rules)
        return
    attach = attached_services(project, services, flags)
    stop = watch_alongside(project, rules) if rules else None
    try:
        status = call(lambda client: attached_up(open_session(client, opts, project), opts, options, flags, attach))
    finally:
        if stop is not None:
            stop.set()
    if status:
        raise click.exceptions.Exit(status)
