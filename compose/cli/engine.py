"""`pycompose engine`: run the engine in the foreground, or start/stop/status it.

The engine is a separate program (`python -m runtime`); this command only
execs or spawns it and talks to it over its socket and pidfile, so compose
never imports runtime. The pidfile (`<root>/engine.pid`) and the log of a
background engine (`<root>/engine.log`) are the contract between the two.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from compose.client.errors import EngineConnectionError
from compose.client.place import DEFAULT_HOST, DEFAULT_ROOT, LOGFILE, ROOT_ENV, default_host, socket_path
from compose.engine_spawn import (
    STOP_TIMEOUT,
    EngineSettings,
    EngineStartFailed,
    answers,
    daemon_environ,
    running_pid,
    start_background,
    wait_readable,
)

LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")


def _check_host(host: str) -> str:
    if host.startswith("tcp://"):
        return host
    try:
        socket_path(host)
    except EngineConnectionError:
        raise click.BadParameter(f"{host!r}: the engine listens on unix:// and tcp:// addresses",
                                 param_hint="--host") from None
    return host


def _tls_options(func: Any) -> Any:
    """dockerd's TLS flags, for the tcp listeners."""
    for name, text in (("--tlskey", "the engine's TLS key"), ("--tlscert", "the engine's TLS certificate"),
                       ("--tlscacert", "trust client certificates signed by this CA")):
        func = click.option(name, default=None, metavar="FILE", help=text)(func)
    func = click.option("--tlsverify", is_flag=True, help="TLS on tcp listeners, client certificates required.")(func)
    return click.option("--tls", is_flag=True, help="TLS on tcp listeners (implied by --tlsverify).")(func)


def _tls_args(tls: bool, tlsverify: bool, files: dict[str, str | None]) -> tuple[str, ...]:
    args = ["--tls"] * tls + ["--tlsverify"] * tlsverify
    args += [arg for name, value in files.items() if value for arg in (f"--{name}", value)]
    return tuple(args)


def _options(group: bool) -> Any:
    """--root/--host/--log-level, on the group (with env and defaults) and on each subcommand."""

    def decorate(func: Any) -> Any:
        func = click.option("-l", "--log-level", type=click.Choice(LOG_LEVELS),
                            default="info" if group else None, help="Engine log level.")(func)
        func = click.option("-H", "--host", "hosts", envvar="DOCKER_HOST" if group else None, multiple=True,
                            show_default=DEFAULT_HOST if group else False,
                            help="Listen on (unix:///path or tcp://addr:port), repeatable; env DOCKER_HOST.")(func)
        func = click.option("--root", type=click.Path(file_okay=False, path_type=Path),
                            envvar=ROOT_ENV if group else None,
                            default=Path(DEFAULT_ROOT) if group else None, show_default=group,
                            help="State root; env PYCOMPOSE_ENGINE_ROOT.")(func)
        return func

    return decorate


def _settings(ctx: click.Context, root: Path | None, hosts: tuple[str, ...], log_level: str | None) -> EngineSettings:
    """The group's settings, with what was given after the subcommand on top."""
    base: EngineSettings = ctx.obj
    if root is not None:
        base = replace(base, root=root.absolute())
    if hosts:
        base = replace(base, host=_check_host(hosts[0]), more_hosts=tuple(_check_host(h) for h in hosts[1:]))
    if log_level is not None:
        base = replace(base, log_level=log_level)
    return base


@click.group(invoke_without_command=True)
@_options(group=True)
@click.pass_context
@_tls_options
def engine(ctx: click.Context, root: Path, hosts: tuple[str, ...], log_level: str, tls: bool, tlsverify: bool,
           tlscacert: str | None, tlscert: str | None, tlskey: str | None) -> None:
    """Run the engine in the foreground, or manage it in the background."""
    hosts = hosts or (default_host(),)
    settings = EngineSettings(root.absolute(), _check_host(hosts[0]), log_level,
                              tuple(_check_host(h) for h in hosts[1:]),
                              _tls_args(tls, tlsverify, {"tlscacert": tlscacert, "tlscert": tlscert, "tlskey": tlskey}))
    if ctx.invoked_subcommand is not None:
        ctx.obj = settings
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, settings.daemon_argv(), daemon_environ())


@engine.command()
@_options(group=False)
@click.pass_context
def start(ctx: click.Context, root: Path | None, hosts: tuple[str, ...], log_level: str | None) -> None:
    """Start the engine in the background and wait until it answers."""
    settings = _settings(ctx, root, hosts, log_level)
    pid = running_pid(settings.pidfile)
    if pid is not None:
        click.echo(f"engine already running (pid {pid}) on {settings.host}")
        return
    try:
        pid = start_background(settings)
    except EngineStartFailed as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"engine started (pid {pid}) on {settings.host}, root {settings.root}, log {settings.root / LOGFILE}")


@engine.command()
@_options(group=False)
@click.pass_context
def stop(ctx: click.Context, root: Path | None, hosts: tuple[str, ...], log_level: str | None) -> None:
    """Stop the background engine (SIGTERM) and wait for it to exit."""
    settings = _settings(ctx, root, hosts, log_level)
    pid = running_pid(settings.pidfile)
    if pid is None:
        click.echo(f"engine is not running (root {settings.root})")
        return
    try:
        # The pidfd pins the process: the pid cannot be reused under us.
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        click.echo(f"engine is not running (root {settings.root})")
        return
    try:
        os.kill(pid, signal.SIGTERM)
        if not wait_readable(pidfd, STOP_TIMEOUT):
            raise click.ClickException(f"the engine (pid {pid}) did not stop within {STOP_TIMEOUT:g} s")
    finally:
        os.close(pidfd)
    click.echo(f"engine stopped (pid {pid})")


@engine.command()
@_options(group=False)
@click.pass_context
def status(ctx: click.Context, root: Path | None, hosts: tuple[str, ...], log_level: str | None) -> None:
    """Show whether the engine runs, its pid and socket; exit 1 if not."""
    settings = _settings(ctx, root, hosts, log_level)
    pid = running_pid(settings.pidfile)
    if pid is None:
        click.echo(f"engine is not running (root {settings.root})")
        ctx.exit(1)
    answering = "answering" if answers(settings.reach) else "NOT answering"
    click.echo(f"engine running (pid {pid}) on {settings.host} ({answering}), root {settings.root}")


