"""`pycompose container run` and `exec`: docker's flow over the Engine API.

run: create (pulling the image first with --pull always, or when it is
missing: container_pull.py), then unless -d
attach (hijacked), wait (`next-exit`, or `removed` with --rm) registered
before start, start, copy the streams, and exit with the container's code.
Like docker, failures of the engine exit 125, a command that cannot be run
126 or 127.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import click

from compose.cli.container_create import CreateOptions, create_body, environment
from compose.cli.container_plain import (
    EXEC_EXIT_POLL,
    RunFailed,
    exec_plain,
    plain_status,
    run_plain,
    run_status,
    start_failure_status,
)
from compose.cli.engine_group import Target, pass_target
from compose.error_base import exception_leaves
from compose.exec_body import exec_body

if TYPE_CHECKING:
    from compose.client import EngineClient

# How long to wait for the engine to take a wait request before starting anyway.
WAIT_REGISTER = 5.0
_RUN_SETTINGS = {"allow_interspersed_args": False, "help_option_names": ["--help"]}


async def create(client: EngineClient, body: dict[str, Any], name: str | None, pull: str = "missing",
                 platform: str | None = None, quiet: bool = False) -> str:
    """POST /containers/create, pulling the image first or when missing as `pull` says (docker run's --pull)."""
    from compose.cli.container_pull import PullFailed, create_with_pull_async, pull_async
    from compose.client import EngineError
    from compose.client.versions import split_endpoints

    async def attempt() -> Any:
        # Before API 1.44 one network at create, the others connected right after (versions.split_endpoints).
        first, later = split_endpoints(body, await client.negotiate())
        answer = await (await client.post("/containers/create", {"name": name, "platform": platform},
                                          json=first)).json()
        for network, endpoint in later.items():
            await (await client.post(f"/networks/{network}/connect",
                                     json={"Container": answer["Id"], "EndpointConfig": endpoint})).read()
        return answer

    try:
        created = await create_with_pull_async(attempt, lambda: pull_async(client, body["Image"], platform, quiet),
                                               body["Image"], pull)
    except PullFailed as exc:
        raise RunFailed(str(exc)) from None
    except EngineError as exc:
        if exc.status == 0:
            raise
        if exc.status == 404 and "image" in exc.message.lower():
            raise RunFailed(f"Error response from daemon: {exc.message}") from None
        raise RunFailed(exc.message) from None
    for warning in created.get("Warnings") or []:
        print(f"WARNING: {warning}", file=sys.stderr)
    return str(created["Id"])


async def start(client: EngineClient, container: str) -> None:
    from compose.client import EngineError

    try:
        await (await client.post(f"/containers/{container}/start")).read()
    except EngineError as exc:
        if exc.status == 0:
            raise
        raise RunFailed(exc.message, start_failure_status(exc.message)) from None


async def attach_start_wait(client: EngineClient, container: str, tty: bool, stdin: bool, condition: str,
                            start_it: bool = True, detach_keys: str = "", on_detach: RunFailed | None = None,
                            sig_proxy: bool = True) -> int:
    """Attach, register the wait, start, stream until the end; the exit status.

    A detach ends it with 0, or raises `on_detach` (docker attach's "read escape sequence")."""
    import anyio

    from compose.cli.detach_keys import Watch
    from compose.cli.streams import Session, run_session

    query = {"stream": True, "stdin": stdin, "stdout": True, "stderr": True, "detachKeys": detach_keys or None}
    stream = await client.hijack("POST", f"/containers/{container}/attach", query)
    result: dict[str, Any] = {}
    registered = anyio.Event()

    async def wait() -> None:
        try:
            response = await client.post(f"/containers/{container}/wait", {"condition": condition})
            registered.set()
            result.update(await response.json() or {})
        except Exception as exc:  # raised below, not as a task group's ExceptionGroup
            result["failure"] = exc
            registered.set()

    async def resize(height: int, width: int) -> None:
        await (await client.post(f"/containers/{container}/resize", {"h": height, "w": width})).read()

    async def forward(signame: str) -> None:
        await (await client.post(f"/containers/{container}/kill", {"signal": signame})).read()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(wait)
        with anyio.move_on_after(WAIT_REGISTER):
            await registered.wait()
        session = Session(stream, tty, stdin, resize=resize, forward_signal=forward if sig_proxy else None,
                          detach=Watch(detach_keys) if stdin else None)
        started: Callable[[], Awaitable[None]] | None = (lambda: start(client, container)) if start_it else None
        try:
            await run_session(session, started)
        except Exception as exc:
            result["failure"] = exc
            tasks.cancel_scope.cancel()
        if session.detached:
            tasks.cancel_scope.cancel()  # the container runs on
            if on_detach is not None:
                raise on_detach
            return 0
    if "failure" in result:
        raise result["failure"]
    error = (result.get("Error") or {}).get("Message")
    if error:
        raise RunFailed(f"error waiting for container: {error}")
    return int(result.get("StatusCode", 0) or 0)


def finish(status: int) -> None:
    if status:
        raise click.exceptions.Exit(status)


async def _unwrapped(work: Awaitable[int]) -> int:
    """A lone error out of a task group, as itself: the user gets its one line."""
    try:
        return await work
    except BaseExceptionGroup as group:
        leaves = exception_leaves(group)
        if len(leaves) == 1 and isinstance(leaves[0], Exception):
            raise leaves[0] from None
        raise


def call_run(target: Target, func: Callable[[EngineClient], Awaitable[int]]) -> None:
    """Run the flow; RunFailed and engine errors end as one line and docker's status."""
    report_run(lambda: target.call(lambda client: _unwrapped(func(client))))


def call_plain(target: Target, func: Callable[[], int]) -> None:
    """A blocking flow (container_plain.py): the same engine check and the same error reporting."""
    finish(plain_status(target.host, func))


def report_run(work: Callable[[], int]) -> None:
    finish(run_status(work))


@click.command(context_settings=_RUN_SETTINGS)
@click.argument("image")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("-d", "--detach", is_flag=True, help="Run in the background and print the container ID.")
@click.option("--rm", "auto_remove", is_flag=True, help="Remove the container when it exits.")
@click.option("--name", default=None, help="Assign a name to the container.")
@click.option("-e", "--env", multiple=True, help="Set an environment variable (KEY=VALUE or KEY).")
@click.option("--env-file", "env_files", multiple=True, help="Read environment variables from a file.")
@click.option("-v", "--volume", "volumes", multiple=True, help="Bind mount or volume: SRC:DST[:OPTS] or DST.")
@click.option("--mount", "mounts", multiple=True, help="Mount: type=bind|volume|tmpfs,source=…,target=….")
@click.option("--tmpfs", multiple=True, help="Mount a tmpfs: PATH[:OPTIONS].")
@click.option("-w", "--workdir", default=None, help="Working directory inside the container.")
@click.option("-u", "--user", default=None, help="Username or UID[:GID].")
@click.option("--entrypoint", default=None, help="Overwrite the image's ENTRYPOINT.")
@click.option("--init", is_flag=True, help="Run an init inside the container that reaps processes.")
@click.option("-m", "--memory", default=None, help="Memory limit (e.g. 512m).")
@click.option("--cpus", default=None, help="Number of CPUs (e.g. 1.5).")
@click.option("--pids-limit", type=int, default=None, help="Tune the container's pids limit (-1 unlimited).")
@click.option("--cap-add", multiple=True, help="Add a Linux capability.")
@click.option("--cap-drop", multiple=True, help="Drop a Linux capability.")
@click.option("--privileged", is_flag=True, help="Give extended privileges.")
@click.option("--read-only", is_flag=True, help="Mount the root filesystem read-only.")
@click.option("--security-opt", multiple=True, help="Security options.")
@click.option("--restart", default=None, help="Restart policy: no, always, unless-stopped, on-failure[:N].")
@click.option("--network", "--net", "network", default=None, help="Network: none, host or a network name.")
@click.option("-l", "--label", "labels", multiple=True, help="Set metadata (KEY=VALUE).")
@click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open and attach it.")
@click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY.")
@click.option("--detach-keys", default=None, help="Override the key sequence for detaching a container.")
@click.option("-h", "--hostname", default=None, help="Container host name.")
@click.option("--stop-signal", default=None, help="Signal to stop the container.")
@click.option("--stop-timeout", type=int, default=None, help="Timeout (seconds) to stop the container.")
@click.option("--ulimit", "ulimits", multiple=True, help="Ulimit: NAME=SOFT[:HARD].")
@click.option("--sysctl", "sysctls", multiple=True, help="Sysctl: KEY=VALUE.")
@click.option("--shm-size", default=None, help="Size of /dev/shm (e.g. 64m).")
@click.option("-p", "--publish", multiple=True, help="Publish a port: [IP:][HOST:]CONTAINER[/PROTO].")
@click.option("-P", "--publish-all", is_flag=True, help="Publish all exposed ports to random ports.")
@click.option("--expose", multiple=True, help="Expose a port or a range of ports.")
@click.option("--network-alias", "network_aliases", multiple=True, help="Add network-scoped alias for the container.")
@click.option("--ip", default=None, help="IPv4 address (e.g., 172.30.100.104).")
@click.option("--mac-address", default=None, help="Container MAC address (e.g., 92:d0:c6:0a:29:33).")
@click.option("--add-host", "add_hosts", multiple=True, help="Add a custom host-to-IP mapping (host:ip).")
@click.option("--dns", multiple=True, help="Set custom DNS servers.")
@click.option("--dns-search", multiple=True, help="Set custom DNS search domains.")
@click.option("--dns-option", "dns_options", multiple=True, help="Set DNS options.")
@click.option("--link", "links", multiple=True, help="Add link to another container (name:alias).")
@click.option("--pull", default=None, help='Pull image before running ("always", "missing", "never").')
@click.option("--platform", default=None, help="Set platform if server is multi-platform capable.")
@click.option("-q", "--quiet", is_flag=True, help="Suppress the pull output.")
@pass_target
def run(target: Target, **flags: Any) -> None:
    """Create and run a new container from an image."""
    from compose.cli.container_pull import check_policy
    from compose.cli.frames import terminal_size

    try:
        pull = check_policy(flags.pop("pull"))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    platform, quiet = flags.pop("platform"), flags.pop("quiet")
    detach_keys = chosen_detach_keys(flags.pop("detach_keys"))
    flags["command"] = tuple(flags["command"])
    opts = CreateOptions(**flags, environ=dict(os.environ),
                         console_size=terminal_size() if flags["tty"] else None)
    body = create_body(opts)
    if opts.tty and opts.interactive and not os.isatty(0):
        raise click.ClickException("the input device is not a TTY")
    if not opts.tty and not opts.interactive:
        call_plain(target, lambda: run_plain(target.host, body, opts.name, opts.detach, opts.auto_remove, pull,
                                             platform, quiet))
        return

    async def flow(client: EngineClient) -> int:
        container = await create(client, body, opts.name, pull, platform, quiet)
        if opts.detach:
            await start(client, container)
            print(container, flush=True)
            return 0
        condition = "removed" if opts.auto_remove else "next-exit"
        return await attach_start_wait(client, container, opts.tty, opts.interactive, condition,
                                       detach_keys=detach_keys)

    call_run(target, flow)


@click.command("exec", context_settings=_RUN_SETTINGS)
@click.argument("container")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("-d", "--detach", is_flag=True, help="Run the command in the background.")
@click.option("-e", "--env", multiple=True, help="Set an environment variable.")
@click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open and attach it.")
@click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY.")
@click.option("-u", "--user", default=None, help="Username or UID[:GID].")
@click.option("-w", "--workdir", default=None, help="Working directory inside the container.")
@click.option("--privileged", is_flag=True, help="Give extended privileges to the command.")
@click.option("--detach-keys", default=None, help="Override the key sequence for detaching a container.")
@pass_target
def exec_(target: Target, container: str, command: tuple[str, ...], detach: bool, env: tuple[str, ...],
          interactive: bool, tty: bool, user: str | None, workdir: str | None, privileged: bool,
          detach_keys: str | None) -> None:
    """Execute a command in a running container."""
    from compose.cli.frames import terminal_size

    if tty and interactive and not os.isatty(0):
        raise click.ClickException("the input device is not a TTY")
    size = terminal_size() if tty else None
    body = exec_body(command, env=environment(env, os.environ), detach=detach, interactive=interactive, tty=tty,
                     user=user, workdir=workdir, privileged=privileged, console_size=size,
                     detach_keys=chosen_detach_keys(detach_keys) if interactive else "")
    if not tty and not interactive:
        call_plain(target, lambda: exec_plain(target.host, container, body, detach))
        return

    async def flow(client: EngineClient) -> int:
        return await exec_flow(client, container, body, detach)

    call_run(target, flow)


def chosen_detach_keys(flag: str | None) -> str:
    from compose.cli.detach_keys import BadDetachKeys, chosen

    try:
        return chosen(flag)
    except BadDetachKeys as exc:
        raise click.UsageError(str(exc)) from None


async def exec_flow(client: EngineClient, container: str, body: dict[str, Any], detach: bool) -> int:
    import anyio

    from compose.cli.detach_keys import Watch
    from compose.cli.streams import Session, run_session

    exec_id = (await (await client.post(f"/containers/{container}/exec", json=body)).json())["Id"]
    start_body = {"Detach": detach, "Tty": body.get("Tty", False)}
    if detach:
        await (await client.post(f"/exec/{exec_id}/start", json=start_body)).read()
        return 0
    stream = await client.hijack("POST", f"/exec/{exec_id}/start", json=start_body)

    async def resize(height: int, width: int) -> None:
        await (await client.post(f"/exec/{exec_id}/resize", {"h": height, "w": width})).read()

    stdin = bool(body.get("AttachStdin"))
    session = Session(stream, bool(body.get("Tty")), stdin, resize=resize,
                      detach=Watch(str(body.get("DetachKeys") or "")) if stdin else None)
    await run_session(session)
    if session.detached:
        return 0  # the command runs on
    # The stream may end a moment before the engine has recorded the exit.
    for _ in range(EXEC_EXIT_POLL):
        info = await (await client.get(f"/exec/{exec_id}/json")).json()
        if not info.get("Running"):
            return int(info.get("ExitCode") or 0)
        await anyio.sleep(0.02)
    return int(info.get("ExitCode") or 0)
