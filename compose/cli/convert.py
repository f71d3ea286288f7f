"""`pycompose convert --format kubernetes [-o DIR|-]`: the project as Kubernetes manifests (compose/convert)."""

from __future__ import annotations

from pathlib import Path

import click

from compose.cli.main import GlobalOptions
from compose.cli.options import load_options
from compose.convert import to_kubernetes
from compose.convert.render import stream, write_dir
from compose.errors import warn
from compose.loader.project import load_project


@click.command("convert")
@click.option("--format", "fmt", type=click.Choice(["kubernetes"]), default="kubernetes",
              help="Target platform.")
@click.option("-o", "--out", default=".", metavar="DIR",
              help="Directory for one file per object (<name>-<kind>.yaml); - for one stream on stdout.")
@click.pass_obj
def convert(opts: GlobalOptions, fmt: str, out: str) -> None:
    """Convert the compose project to Kubernetes manifests; what has no Kubernetes form is warned about."""
    project = load_project(load_options(opts)).project
    result = to_kubernetes(project)
    if out == "-":
        click.echo(stream(result.manifests), nl=False)
    else:
        write_dir(result.manifests, Path(out))
    for item in result.warnings:
        warn(str(item))
