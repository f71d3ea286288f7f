"""`pycompose context ls|create|use|rm|inspect`: docker contexts, in the docker CLI's store and words."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from compose.cli.gotemplate import render
from compose.client import contexts
from compose.client.contexts import DEFAULT, DEFAULT_DESCRIPTION, Context, ContextError
from compose.client.place import default_host

HOST_WARNING = ("Warning: DOCKER_HOST environment variable overrides the active context. To use a context, "
                "either set the global --context flag, or unset DOCKER_HOST environment variable.")


def _default() -> Context:
    return Context(DEFAULT, os.environ.get("DOCKER_HOST") or default_host(), DEFAULT_DESCRIPTION)


def _all(root: Path) -> list[Context]:
    return sorted([_default(), *(contexts.load(root, name) for name in contexts.names(root))], key=lambda c: c.name)


def _get(root: Path, name: str) -> Context:
    return _default() if name == DEFAULT else contexts.load(root, name)


@click.group()
def context() -> None:
    """Manage contexts."""


@context.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only show context names")
@click.option("--format", "fmt", default=None, help='"json" or a Go template')
def ls(quiet: bool, fmt: str | None) -> None:
    """List contexts."""
    root = contexts.config_dir()
    current = contexts.current_name()
    if os.environ.get("DOCKER_HOST") and (os.environ.get("DOCKER_CONTEXT")
                                          or contexts.read_config(root).get("currentContext")):
        click.echo(HOST_WARNING, err=True)
    rows = [{"Current": c.name == current, "Description": c.description, "DockerEndpoint": c.host, "Error": "",
             "Name": c.name} for c in _all(root)]
    if quiet:
        for row in rows:
            click.echo(row["Name"])
    elif fmt in ("json", "{{json .}}"):
        for row in rows:
            click.echo(json.dumps(row, separators=(",", ":")))
    elif fmt:
        for row in rows:
            click.echo(render(fmt, row))
    else:
        table: list[tuple[str, ...]] = [("NAME", "DESCRIPTION", "DOCKER ENDPOINT", "ERROR")]
        table += [(f"{r['Name']} *" if r["Current"] else str(r["Name"]), str(r["Description"]),
                   str(r["DockerEndpoint"]), "") for r in rows]
        widths = [max(len(line[i]) for line in table) for i in range(4)]
        for line in table:
            click.echo("   ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))


def _parse_docker(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or key not in ("host", "ca", "cert", "key", "skip-tls-verify", "from"):
            raise ContextError(f"unable to parse docker endpoint: unrecognized config key: {key}")
        fields[key] = value
    return fields


@context.command("create")
@click.argument("name")
@click.option("--description", default="", help="Description of the context")
@click.option("--docker", "docker", default=None, help="set the docker endpoint: host=...,ca=...,cert=...,key=...,"
                                                         "skip-tls-verify=true")
@click.option("--from", "source", default=None, help="create context from a named context")
def create(name: str, description: str, docker: str | None, source: str | None) -> None:
    """Create a context."""
    contexts.check_name(name)
    root = contexts.config_dir()
    if name in contexts.names(root):
        raise ContextError(f'context "{name}" already exists')
    tls: dict[str, bytes] = {}
    if docker is None:
        base = _get(root, source or contexts.current_name())
        folder = contexts.tls_dir(root, base.name) / "docker"
        tls = {f: (folder / f).read_bytes() for f in base.tls_files}
        made = Context(name, base.host, description or base.description, base.skip_tls_verify)
    else:
        fields = _parse_docker(docker)
        for key, file in (("ca", "ca.pem"), ("cert", "cert.pem"), ("key", "key.pem")):
            if fields.get(key):
                try:
                    tls[file] = Path(fields[key]).expanduser().read_bytes()
                except OSError as exc:
                    raise ContextError(f"unable to read {key} file {fields[key]}: {exc.strerror or exc}") from None
        skip = fields.get("skip-tls-verify", "false").lower() in ("1", "true", "t")
        made = Context(name, fields.get("host") or _default().host, description, skip)
    contexts.save(root, made, tls)
    click.echo(name)
    click.echo(f'Successfully created context "{name}"', err=True)


@context.command("use")
@click.argument("name")
def use(name: str) -> None:
    """Set the current docker context."""
    root = contexts.config_dir()
    if name != DEFAULT:
        contexts.load(root, name)
    contexts.set_current(root, name)
    click.echo(name)
    click.echo(f'Current context is now "{name}"', err=True)
    if os.environ.get("DOCKER_HOST"):
        click.echo(HOST_WARNING, err=True)


@context.command("rm")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Force the removal of a context in use")
def rm(names: tuple[str, ...], force: bool) -> None:
    """Remove one or more contexts."""
    root = contexts.config_dir()
    current = str(contexts.read_config(root).get("currentContext") or DEFAULT)
    failed = []
    for name in names:
        if name == DEFAULT:
            failed.append('default: context "default" cannot be removed')
        elif name not in contexts.names(root):
            failed.append(f'context "{name}" does not exist')
        elif name == current and not force:
            failed.append(f'context "{name}" is in use, set -f flag to force remove')
        else:
            if name == current:
                contexts.set_current(root, DEFAULT)
            contexts.remove(root, name)
            click.echo(name)
    if failed:
        click.echo("\n".join(failed), err=True)
        sys.exit(1)


@context.command("inspect")
@click.argument("names", nargs=-1)
@click.option("-f", "--format", "fmt", default=None, help="Format the output using a Go template")
def inspect(names: tuple[str, ...], fmt: str | None) -> None:
    """Display detailed information on one or more contexts."""
    root = contexts.config_dir()
    found = [_inspect(root, _get(root, name)) for name in names or (contexts.current_name(),)]
    if fmt:
        for item in found:
            click.echo(render(fmt, item))
    else:
        click.echo(json.dumps(found, indent=4))


def _inspect(root: Path, c: Context) -> dict[str, Any]:
    metadata = dict(c.metadata)
    if c.description:
        metadata["Description"] = c.description
    return {"Name": c.name, "Metadata": metadata,
            "Endpoints": {"docker": {"Host": c.host, "SkipTLSVerify": c.skip_tls_verify}},
            "TLSMaterial": {"docker": list(c.tls_files)} if c.tls_files else {},
            "Storage": {"MetadataPath": str(contexts.meta_dir(root, c.name)) if c.name != DEFAULT else "<IN MEMORY>",
                        "TLSPath": str(contexts.tls_dir(root, c.name)) if c.name != DEFAULT else "<IN MEMORY>"}}
