"""`pycompose config`: the normalized project, as Docker Compose prints it."""

from __future__ import annotations

import json
from typing import Any

import click
import yaml

from compose.cli.main import GlobalOptions
from compose.cli.options import load_options
from compose.errors import ComposeFileError
from compose.hashing import service_hash
from compose.loader.normalize import canonical_order
from compose.loader.project import Loaded, load_project


class _Dumper(yaml.SafeDumper):
    """Block style with sequences indented under their key, like Docker Compose's output."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_presenter)


def variables_text(loaded: Loaded, fmt: str) -> str:
    """`--variables`: a table (NAME, REQUIRED, DEFAULT VALUE, ALTERNATE VALUE), or Docker Compose's JSON/YAML map."""
    from compose.cli.tables import tabwrite
    from compose.loader.variables import extract_variables

    found = extract_variables(loaded.doc)
    if fmt == "yaml":
        return render({name: {"name": v.name, "defaultvalue": v.default, "presencevalue": v.presence,
                              "required": v.required} for name, v in found.items()}, "yaml")
    if fmt == "json":
        data = {name: {"Name": v.name, "DefaultValue": v.default, "PresenceValue": v.presence,
                       "Required": v.required} for name, v in found.items()}
        return json.dumps(data, indent=4, ensure_ascii=False) + "\n"
    rows = [f"{v.name}\t{str(v.required).lower()}\t{v.default}\t{v.presence}" for v in found.values()]
    return tabwrite(["NAME\tREQUIRED\tDEFAULT VALUE\tALTERNATE VALUE", *rows])


def render(data: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=1 << 30)


@click.command("config")
@click.argument("services", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["yaml", "json", "table"]), default=None,
              help="Format the output. Values: [yaml | json] (--variables: table by default).")
@click.option("-q", "--quiet", is_flag=True, help="Only validate the configuration, print nothing.")
@click.option("--services", "list_services", is_flag=True, help="Print the service names, one per line.")
@click.option("--volumes", "list_volumes", is_flag=True, help="Print the volume names, one per line.")
@click.option("--networks", "list_networks", is_flag=True, help="Print the network names, one per line.")
@click.option("--images", "list_images", is_flag=True, help="Print the image names, one per line.")
@click.option("--profiles", "list_profiles", is_flag=True, help="Print the profile names, one per line.")
@click.option("--hash", "hash_of", default=None, metavar="SERVICE",
              help='Print the config hash of services ("*" for all).')
@click.option("--no-interpolate", is_flag=True, help="Do not interpolate environment variables.")
@click.option("--environment", "show_environment", is_flag=True, help="Print the environment used for interpolation.")
@click.option("--no-consistency", is_flag=True,
              help="Don't check model consistency - warning: may produce invalid Compose output.")
@click.option("--no-normalize", is_flag=True, help="Don't normalize compose model.")
@click.option("--no-path-resolution", is_flag=True, help="Don't resolve file paths.")
@click.option("--no-env-resolution", is_flag=True, help="Don't resolve service env files.")
@click.option("--variables", "list_variables", is_flag=True, help="Print model variables and default values.")
@click.option("--resolve-image-digests", is_flag=True, help="Pin image tags to digests.")
@click.option("--lock-image-digests", is_flag=True, help="Produces an override file with image digests.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Save to file (default: stdout).")
@click.pass_obj
def config(opts: GlobalOptions, services: tuple[str, ...], fmt: str, quiet: bool, list_services: bool,
           list_volumes: bool, list_networks: bool, list_images: bool, list_profiles: bool,
           hash_of: str | None, no_interpolate: bool, show_environment: bool, output: str | None,
           no_consistency: bool, no_normalize: bool, no_path_resolution: bool, no_env_resolution: bool,
           list_variables: bool, resolve_image_digests: bool, lock_image_digests: bool) -> None:
    """Parse, resolve and render the compose file in canonical form."""
    from dataclasses import replace

    if fmt == "table" and not list_variables:
        raise click.UsageError("--format table is only for --variables; the model is yaml or json")
    interpolate = not no_interpolate and not list_variables
    options = replace(load_options(opts, services, interpolate), consistency=not no_consistency,
                      normalize=not no_normalize, resolve_paths=not no_path_resolution,
                      resolve_env=not (no_env_resolution or list_variables))
    loaded = load_project(options)
    if quiet:
        return
    if list_variables:
        text = variables_text(loaded, fmt or "table")
    elif lock_image_digests:
        from compose.cli.config_digests import lock_document

        text = render(lock_document(loaded.project, _digests(loaded)), fmt or "yaml")
    else:
        if resolve_image_digests:
            from compose.cli.config_digests import pin_document

            pin_document(loaded.doc, _digests(loaded))
        text = _text(loaded, services, fmt or "yaml", list_services, list_volumes, list_networks, list_images,
                     list_profiles, hash_of, show_environment, interpolate)
    if output:
        try:
            with open(output, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            raise ComposeFileError(f"cannot write {output}: {exc.strerror}") from None
    else:
        click.echo(text, nl=False)


def _digests(loaded: Loaded) -> dict[str, str]:
    """service -> its image pinned to a digest, as the engine's registry lookups answer."""
    from compose.cli.config_digests import resolve_digests
    from compose.cli.project_cmd import call

    return call(lambda client: resolve_digests(client, loaded.project))


def _lines(items: Any) -> str:
    return "".join(f"{item}\n" for item in items)


def _escape_dollars(value: Any) -> Any:
    """`$` doubled, as Docker Compose prints it, so the output loads back to the same values."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {k: _escape_dollars(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape_dollars(v) for v in value]
    return value


def _text(loaded: Loaded, services: tuple[str, ...], fmt: str, list_services: bool, list_volumes: bool,
          list_networks: bool, list_images: bool, list_profiles: bool, hash_of: str | None,
          show_environment: bool, interpolated: bool) -> str:
    project = loaded.project
    if list_services:
        return _lines(project.services)
    if list_volumes:
        return _lines(project.volumes)
    if list_networks:
        return _lines(project.networks)
    if list_images:
        return _lines(project.images())
    if list_profiles:
        return _lines(loaded.profiles)
    if show_environment:
        return _lines(f"{k}={v}" for k, v in sorted(loaded.environment.items()))
    if hash_of is not None:
        names = list(project.services) if hash_of == "*" else [s.strip() for s in hash_of.split(",")]
        for name in names:
            if name not in project.services:
                raise ComposeFileError(f"no such service: {name}")
        return _lines(f"{name} {service_hash(name, loaded.doc)}" for name in names)
    data = canonical_order(loaded.doc)
    if interpolated:
        data = _escape_dollars(data)
    if services:
        from compose.graph import graph_of, with_dependencies

        wanted = with_dependencies(graph_of(loaded.doc.get("services") or {}), list(services))
        data["services"] = {k: v for k, v in data["services"].items() if k in wanted}
    return render(data, fmt)
