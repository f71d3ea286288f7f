"""`pycompose` as a drop-in for `docker compose`.

Tools call `<binary> compose <command>` (testcontainers' `DockerCompose`
with `docker_command_path`), and the docker CLI runs a plugin as
`docker-compose compose <command>` after asking it
`docker-cli-plugin-metadata`. `install-plugin` writes that executable into
the docker CLI's plugin folder (`$DOCKER_CONFIG/cli-plugins`, else
`~/.docker/cli-plugins`), so that `docker compose up` runs pycompose.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import click

VERSION = "0.1.0"
METADATA = {
    "SchemaVersion": "0.1.0",
    "Vendor": "pycompose",
    "Version": VERSION,
    "ShortDescription": "Docker Compose (pycompose)",
}


def as_plugin(argv: list[str]) -> list[str] | None:
    """The command line without its leading `compose`; None when the metadata was the question (answered)."""
    if argv[:1] == ["docker-cli-plugin-metadata"]:
        sys.stdout.write(json.dumps(METADATA, indent=2) + "\n")
        return None
    return argv[1:]


def plugin_dir(environ: dict[str, str] | None = None) -> Path:
    """Where the docker CLI looks for plugins of this user."""
    env = os.environ if environ is None else environ
    config = env.get("DOCKER_CONFIG") or str(Path(env.get("HOME") or Path.home()) / ".docker")
    return Path(config) / "cli-plugins"


def plugin_script(python: str, directory: Path) -> str:
    """A shell script that runs this pycompose with this interpreter, whatever the caller's PATH."""
    # The checkout (or site-packages) this copy of pycompose is imported from, so the plugin finds it.
    root = str(Path(__file__).resolve().parents[2])
    return ("#!/bin/sh\n"
            "# docker CLI plugin: `docker compose ...` runs pycompose (written by `pycompose install-plugin`).\n"
            f"PYTHONPATH={shlex.quote(root)}${{PYTHONPATH:+:$PYTHONPATH}} "
            f"exec {shlex.quote(python)} -c 'import sys; from compose.cli.main import main; sys.exit(main())' "
            '"$@"\n')


@click.command("install-plugin")
@click.option("--dir", "directory", default=None, metavar="DIR",
              help="Plugin folder (default: $DOCKER_CONFIG/cli-plugins or ~/.docker/cli-plugins).")
def install_plugin(directory: str | None) -> None:
    """Install pycompose as the docker CLI's compose plugin (`docker compose ...`)."""
    folder = Path(directory) if directory else plugin_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "docker-compose"
        tmp = folder / ".docker-compose.tmp"
        tmp.write_text(plugin_script(sys.executable, folder))
        tmp.chmod(0o755)
        tmp.replace(target)
    except OSError as exc:
        raise click.ClickException(f"cannot install the plugin in {folder}: {exc.strerror or exc}") from None
    click.echo(f"installed {target}")
