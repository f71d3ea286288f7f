"""`pycompose image pull` and `image push`: the docker CLI's, over the Engine API.

pull: `Using default tag: latest` when no tag is given, the engine's stream
(`latest: Pulling from library/busybox`, a line per layer, `Digest: …`,
`Status: …`), then the full reference (`docker.io/library/busybox:latest`);
-q prints only that last line. push: `Using default tag`, `The push refers
to repository [...]`, a line per layer, `latest: digest: … size: N`; -q
prints the reference. Credentials for the image's registry go along as
`X-Registry-Auth`. Errors are the docker CLI's one line, exit 1.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import TYPE_CHECKING

import click

from compose.cli.engine_group import Target, pass_target
from compose.errors import ComposeError

if TYPE_CHECKING:
    from compose.client import EngineClient


def display_width() -> int:
    return shutil.get_terminal_size((80, 24)).columns


def _check(name: str, all_tags: bool) -> tuple[bool, str]:
    """(whether the CLI adds `latest`, the reference it prints last); docker's refusals."""
    from compose.registry.reference import parse, with_default_tag

    ref = parse(name)
    if all_tags and (ref.tag or ref.digest):
        raise click.UsageError("tag can't be used with --all-tags/-a")
    if name != name.strip() or not name or any(c.isupper() for c in ref.path):
        raise ComposeError(f"invalid reference format: repository name ({ref.path}) must be lowercase")
    defaulted = not all_tags and not (ref.tag or ref.digest)
    shown = ref if all_tags else with_default_tag(ref)
    return defaulted, shown.full()


async def pull_image(client: EngineClient, name: str, platform: str | None, quiet: bool,
                     all_tags: bool = False) -> None:
    """The engine's pull stream shown as `docker pull` shows it (nothing with `quiet`)."""
    from compose.cli.jsonmessage import MessageDisplay
    from compose.registry import transfer
    from compose.registry.credentials import CredentialStore, auth_headers

    headers = auth_headers(CredentialStore.from_environ(os.environ), name)
    display = MessageDisplay(sys.stdout, sys.stdout.isatty(), display_width())
    async for message in transfer.pull(client, name, headers, platform, all_tags):
        if not quiet:
            display.show(message)


def engine_errors(work: Exception) -> ComposeError:
    from compose.client import EngineError
    from compose.registry.transfer import daemon_message

    if isinstance(work, EngineError):
        return ComposeError(daemon_message(work))
    return work if isinstance(work, ComposeError) else ComposeError(str(work))


@click.command("pull")
@click.argument("name", metavar="NAME[:TAG|@DIGEST]")
@click.option("-a", "--all-tags", is_flag=True, help="Download all tagged images in the repository.")
@click.option("--platform", default=None, help="Set platform if server is multi-platform capable.")
@click.option("-q", "--quiet", is_flag=True, help="Suppress verbose output.")
@pass_target
def pull(target: Target, name: str, all_tags: bool, platform: str | None, quiet: bool) -> None:
    """Download an image from a registry."""
    from compose.client import EngineConnectionError, EngineError

    defaulted, shown = _check(name, all_tags)
    if defaulted and not quiet:
        print("Using default tag: latest", flush=True)
    try:
        target.call(lambda client: pull_image(client, name, platform or os.environ.get("DOCKER_DEFAULT_PLATFORM"),
                                              quiet, all_tags))
    except EngineConnectionError:
        raise
    except EngineError as exc:
        raise engine_errors(exc) from None
    print(shown, flush=True)


@click.command("push")
@click.argument("name", metavar="NAME[:TAG]")
@click.option("-a", "--all-tags", is_flag=True, help="Push all tags of an image to the repository.")
@click.option("-q", "--quiet", is_flag=True, help="Suppress verbose output.")
@click.option("--platform", default=None, hidden=True)
@pass_target
def push(target: Target, name: str, all_tags: bool, quiet: bool, platform: str | None) -> None:
    """Upload an image to a registry."""
    from compose.cli.jsonmessage import MessageDisplay
    from compose.client import EngineConnectionError, EngineError
    from compose.registry import transfer
    from compose.registry.credentials import CredentialStore, auth_headers

    defaulted, shown = _check(name, all_tags)
    if defaulted and not quiet:
        print("Using default tag: latest", flush=True)
    headers = auth_headers(CredentialStore.from_environ(os.environ), name)

    async def work(client: EngineClient) -> None:
        display = MessageDisplay(sys.stdout, sys.stdout.isatty(), display_width())
        async for message in transfer.push(client, name, headers, all_tags):
            if not quiet:
                display.show(message)

    try:
        target.call(work)
    except EngineConnectionError:
        raise
    except EngineError as exc:
        raise engine_errors(exc) from None
    if quiet:
        print(shown, flush=True)
