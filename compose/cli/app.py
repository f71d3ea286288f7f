"""The click side of `pycompose`: the root group, its global options, and the command table.

Subcommands are imported only when run, so `pycompose --help` stays fast
(networkx, jsonschema and pyroute2 each cost ~100 ms to import); logging
is set up only once a subcommand is loaded, for the same reason. The
entry point is compose/cli/main.py, which sends the few hot commands it
can parse without click elsewhere (fastpath.py) and everything else here.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from typing import Any

import click

from compose.cli.engine_options import apply_engine_options, engine_options

# Set in the click context's meta once logging is set up for this command line.
_LOGGING = "pycompose.logging"
# name -> (module, attribute, one-line help); the table is the command list.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "context": ("compose.cli.context", "context", "Manage contexts (docker context …)"),
    "system": ("compose.cli.system", "system", "Engine-wide commands (dial-stdio)"),
    "config": ("compose.cli.config", "config", "Parse, resolve and render the compose file in canonical form"),
    "convert": ("compose.cli.convert", "convert", "Convert the project to Kubernetes manifests"),
    "completion": ("compose.cli.completion", "completion", "Print the shell completion script (bash, zsh, fish)"),
    "container": ("compose.cli.container", "container", "Manage containers (docker container …)"),
    "engine": ("compose.cli.engine", "engine", "Run or manage the pycompose engine (the daemon)"),
    "image": ("compose.cli.image", "image", "Manage images (docker image …)"),
    "install-plugin": ("compose.cli.plugin", "install_plugin", "Install pycompose as the docker CLI's compose plugin"),
    "network": ("compose.cli.network", "network", "Manage networks (docker network …)"),
    "volume": ("compose.cli.volume", "volume", "Manage volumes (docker volume …)"),
    "create": ("compose.cli.lifecycle", "create", "Creates containers for a service"),
    "down": ("compose.cli.down", "down", "Stop and remove containers, networks"),
    "graph": ("compose.cli.graph", "graph", "Print the dependency graph of the services (dot, mermaid, svg)"),
    "exec": ("compose.cli.exec", "exec_", "Execute a command in a running container"),
    "kill": ("compose.cli.lifecycle", "kill", "Force stop service containers"),
    "login": ("compose.cli.login", "login", "Log in to a registry"),
    "logout": ("compose.cli.login", "logout", "Log out from a registry"),
    "logs": ("compose.cli.logs", "logs", "View output from containers"),
    "pause": ("compose.cli.pause", "pause", "Pause services"),
    "ps": ("compose.cli.ps", "ps", "List containers"),
    "pull": ("compose.cli.pull", "pull", "Pull service images"),
    "push": ("compose.cli.pull", "push", "Push service images"),
    "restart": ("compose.cli.lifecycle", "restart", "Restart service containers"),
    "rm": ("compose.cli.lifecycle", "rm", "Removes stopped service containers"),
    "run": ("compose.cli.run", "run", "Run a one-off command on a service"),
    "start": ("compose.cli.lifecycle", "start", "Start services"),
    "stop": ("compose.cli.lifecycle", "stop", "Stop services"),
    "top": ("compose.cli.top", "top", "Display the running processes"),
    "unpause": ("compose.cli.pause", "unpause", "Unpause services"),
    "up": ("compose.cli.up", "up", "Create and start containers"),
    "watch": ("compose.cli.watch", "watch", "Watch the build context and sync, restart or rebuild services"),
    "build": ("compose.cli.build", "build", "Build or rebuild services"),
    "builder": ("compose.cli.builder", "builder", "Manage builds (builder prune)"),
    "attach": ("compose.cli.follow", "attach", "Attach to a service's running container"),
    "commit": ("compose.cli.snapshot", "commit", "Create a new image from a service container's changes"),
    "cp": ("compose.cli.cp", "cp", "Copy files between a service container and the local filesystem"),
    "events": ("compose.cli.follow", "events", "Receive real time events from containers"),
    "export": ("compose.cli.snapshot", "export", "Export a service container's filesystem as a tar archive"),
    "images": ("compose.cli.info", "images", "List images used by the created containers"),
    "ls": ("compose.cli.info", "ls", "List running compose projects"),
    "port": ("compose.cli.info", "port", "Print the public port for a port binding"),
    "scale": ("compose.cli.scale", "scale", "Scale services"),
    "stats": ("compose.cli.stats", "stats", "Display a live stream of container(s) resource usage statistics"),
    "version": ("compose.cli.info", "version", "Show the Docker Compose version information"),
    "wait": ("compose.cli.follow", "wait", "Block until the first service container stops"),
}


@dataclass(frozen=True)
class GlobalOptions:
    files: tuple[str, ...]
    project_name: str | None
    project_directory: str | None
    env_files: tuple[str, ...]
    profiles: tuple[str, ...]
    parallel: int
    progress: str
    ansi: str
    dry_run: bool = False


# Commands that change state without a plan: `--dry-run` is refused rather than ignored.
NO_DRY_RUN = frozenset({"exec", "run", "login", "logout", "attach", "container", "image",
                        "network", "volume", "engine"})


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        if not ctx.meta.get(_LOGGING):
            setup_logging()
            ctx.meta[_LOGGING] = True
        try:
            module = importlib.import_module(entry[0])
        except ModuleNotFoundError:
            return None
        command: click.Command = getattr(module, entry[1])
        if os.environ.get("_PYCOMPOSE_COMPLETE"):  # a shell asks for completions: SERVICE arguments offer services
            from compose.cli.completion import complete_services_of

            complete_services_of(command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][2]) for name in sorted(COMMANDS)])


def _env_list(name: str, sep: str = ",") -> tuple[str, ...]:
    return tuple(v for v in os.environ.get(name, "").split(sep) if v)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-f", "--file", "files", multiple=True, metavar="FILE", help="Compose file(s); - for stdin.")
@click.option("-p", "--project-name", default=None, help="Project name.")
@click.option("--project-directory", default=None, metavar="DIR", help="Alternate working directory.")
@click.option("--env-file", "env_files", multiple=True, metavar="FILE", help="Alternate environment file(s).")
@click.option("--profile", "profiles", multiple=True, help="Enable a profile (repeatable).")
@click.option("--parallel", type=int, default=None, help="Maximum parallelism, -1 for unlimited.")
@click.option("--progress", type=click.Choice(["auto", "tty", "plain", "json", "quiet"]), default="auto",
              help="Type of progress output.")
@click.option("--ansi", type=click.Choice(["never", "always", "auto"]), default="auto",
              help="Control when to print ANSI control characters.")
@click.option("--dry-run", is_flag=True, help="Execute command in dry run mode.")
@engine_options
@click.version_option("0.1.0", "-v", "--version", prog_name="pycompose")
@click.pass_context
def cli(ctx: click.Context, files: tuple[str, ...], project_name: str | None, project_directory: str | None,
        env_files: tuple[str, ...], profiles: tuple[str, ...], parallel: int | None, progress: str,
        ansi: str, dry_run: bool, **engine: Any) -> None:
    """Define and run multi-container applications on the pycompose engine."""
    if dry_run and ctx.invoked_subcommand in NO_DRY_RUN:
        raise click.UsageError(f"--dry-run is not supported by {ctx.invoked_subcommand}")
    apply_engine_options(ctx.invoked_subcommand, **engine)
    if parallel is None:
        parallel = int(os.environ.get("COMPOSE_PARALLEL_LIMIT") or -1)
    ctx.obj = GlobalOptions(
        files=files,
        project_name=project_name,
        project_directory=project_directory,
        env_files=env_files,
        profiles=profiles or (),
        parallel=parallel,
        progress=os.environ.get("COMPOSE_PROGRESS", progress) if progress == "auto" else progress,
        ansi=os.environ.get("COMPOSE_ANSI", ansi) if ansi == "auto" else ansi,
        dry_run=dry_run,
    )


def setup_logging() -> None:
    """Warnings of the compose layer (logger "pycompose") go to stderr as docker compose prints them."""
    import logging  # ~6 ms: not for `--help`

    class WarnFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            level = {"WARNING": "WARN"}.get(record.levelname, record.levelname)
            return f"{level}[0000] {record.getMessage()}"

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(WarnFormatter())
    log = logging.getLogger("pycompose")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def run(argv: list[str] | None) -> Any:
    """The click command line; click's own exits and errors end as click ends them, one line each."""
    try:
        return cli.main(args=argv, prog_name="pycompose", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
