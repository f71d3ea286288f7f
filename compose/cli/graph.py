"""`pycompose graph`: the project's dependency graph as dot, mermaid or svg (drawn by graphviz's `dot`)."""

from __future__ import annotations

import shutil
import subprocess

import click

from compose.cli.main import GlobalOptions
from compose.cli.options import load_options
from compose.graph_render import to_dot, to_mermaid
from compose.loader.project import load_project


def dot_to_svg(dot_text: str) -> str:
    """The svg graphviz draws from `dot_text`; a one-line error when `dot` is missing or fails."""
    binary = shutil.which("dot")
    if binary is None:
        raise click.ClickException("--format svg needs graphviz's `dot` command, which is not installed "
                                   "(apt-get install graphviz); --format dot or mermaid need nothing")
    done = subprocess.run([binary, "-Tsvg"], input=dot_text, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[0]
        raise click.ClickException(f"graphviz dot failed: {first}")
    return done.stdout


@click.command("graph")
@click.option("--format", "fmt", type=click.Choice(["dot", "mermaid", "svg"]), default="dot", show_default=True,
              help="Output format.")
@click.pass_obj
def graph(opts: GlobalOptions, fmt: str) -> None:
    """Print the dependency graph of the project's services."""
    project = load_project(load_options(opts)).project
    if fmt == "mermaid":
        click.echo(to_mermaid(project), nl=False)
    elif fmt == "svg":
        click.echo(dot_to_svg(to_dot(project)), nl=False)
    else:
        click.echo(to_dot(project), nl=False)
