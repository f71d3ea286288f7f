"""Shell completion: `pycompose completion bash|zsh|fish`, and service names for SERVICE arguments.

click answers completion requests itself (`_PYCOMPOSE_COMPLETE=bash_complete`
and friends); `completion SHELL` prints the script a shell sources to ask.
Commands declare their services as a click argument named `service` or
`services`; `LazyGroup.get_command` hands each command loaded during a
completion request to `complete_services_of`, which gives those arguments
the project's service names. Loading the project for that is quiet: any
error, warning or missing file simply offers nothing.
"""

from __future__ import annotations

import logging
from typing import Any

import click
from click.shell_completion import CompletionItem, get_completion_class

COMPLETE_VAR = "_PYCOMPOSE_COMPLETE"
_SERVICE_PARAMS = ("service", "services")


def service_names(ctx: click.Context) -> list[str]:
    """The services of the project the command line points at (global -f/-p/--profile...), or []."""
    import os
    from pathlib import Path

    from compose.loader.project import LoadOptions, load_project

    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        root = ctx.find_root().params
        if "-" in (root.get("files") or ()):
            return []  # the file is on stdin, which a completion must never read
        options = LoadOptions(working_dir=Path.cwd(), files=tuple(root.get("files") or ()),
                              project_name=root.get("project_name"), project_directory=root.get("project_directory"),
                              env_files=tuple(root.get("env_files") or ()),
                              profiles=tuple(root.get("profiles") or ()), environ=dict(os.environ))
        return sorted(load_project(options).project.services)
    except Exception:  # completion never prints: a broken or missing file, a removed folder, offer nothing
        return []
    finally:
        logging.disable(previous)


def _complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    given = ctx.params.get(param.name or "") or ()
    taken = set(given) if isinstance(given, tuple) else set()
    return [CompletionItem(name) for name in service_names(ctx) if name.startswith(incomplete) and name not in taken]


def complete_services_of(command: click.Command) -> None:
    """Give the command's SERVICE arguments the project's service names as completions."""
    for param in command.params:
        if isinstance(param, click.Argument) and param.name in _SERVICE_PARAMS:
            param._custom_shell_complete = _complete


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script; e.g. `eval "$(pycompose completion bash)"`."""
    cls: Any = get_completion_class(shell)
    click.echo(cls(click.get_current_context().find_root().command, {}, "pycompose", COMPLETE_VAR).source())
