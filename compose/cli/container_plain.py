"""`container run` and `exec` without a terminal or stdin: blocking calls, no event loop.

The same calls in the same order as the anyio flows of container_run.py —
run: create, attach, wait (registered before start), start, copy the output,
the wait's answer; exec: create, start (hijacked), copy, inspect — through
compose.client.blocking, which saves a short command the ~25 ms of
importing anyio, h11 and asyncio. As docker's --sig-proxy, SIGINT and
SIGTERM during `run` are forwarded to the container. Nothing here imports
click: the CLI's fast path (fastpath.py) runs these without it.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from compose.cli.engine_auto import ensure_engine
from compose.cli.frames import Output
from compose.client.blocking import BlockingClient, Exchange
from compose.client.errors import EngineConnectionError, EngineError

READ_SIZE = 65536
EXEC_EXIT_POLL = 50


class RunFailed(Exception):
    """A failure of `run`/`start -a` with docker's exit status for it."""

    def __init__(self, message: str, status: int = 125) -> None:
        super().__init__(message)
        self.status = status


def start_failure_status(message: str) -> int:
    """docker's statuses: 127 command not found, 126 not executable, else 125."""
    text = message.lower()
    if "executable file not found" in text or "no such file or directory" in text:
        return 127
    if "permission denied" in text or "not executable" in text:
        return 126
    return 125


def run_status(work: Callable[[], int]) -> int:
    """The status of `work`; RunFailed and engine errors are one line on stderr and docker's status.

    An engine that cannot be reached is left to the caller (main's one line, exit 1).
    """
    try:
        return work()
    except RunFailed as exc:
        print(f"pycompose: {exc}", file=sys.stderr)
        return exc.status
    except EngineConnectionError:
        raise
    except EngineError as exc:
        print(f"pycompose: {exc}", file=sys.stderr)
        return 125


def plain_status(host: str, func: Callable[[], int]) -> int:
    """Make sure the engine at `host` runs, then `func`'s status as run_status reports it."""

    def work() -> int:
        ensure_engine(host)
        return func()

    return run_status(work)


def create(client: BlockingClient, body: dict[str, Any], name: str | None, host: str = "",
           pull: str = "missing", platform: str | None = None, quiet: bool = False) -> str:
    """POST /containers/create, pulling the image first or when missing as `pull` says (docker run's --pull)."""
    from compose.cli.container_pull import PullFailed, create_with_pull, pull_blocking
    from compose.client.versions import split_endpoints

    def attempt() -> dict[str, Any]:
        first, later = split_endpoints(body, client.api_version)  # before API 1.44: one network at create
        answer: dict[str, Any] = client.call("POST", "/containers/create", {"name": name, "platform": platform},
                                             json=first)
        for network, endpoint in later.items():
            client.call("POST", f"/networks/{network}/connect", json={"Container": answer["Id"],
                                                                      "EndpointConfig": endpoint})
        return answer

    try:
        created = create_with_pull(attempt, lambda: pull_blocking(host, body["Image"], platform, quiet),
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


def start(client: BlockingClient, container: str) -> None:
    try:
        client.call("POST", f"/containers/{container}/start")
    except EngineError as exc:
        if exc.status == 0:
            raise
        raise RunFailed(exc.message, start_failure_status(exc.message)) from None


def copy_output(sock: socket.socket, pending: bytes, output: Output) -> None:
    """Everything the engine sends until it ends the stream."""
    with sock:
        if pending:
            output.write(pending)
        while True:
            try:
                data = sock.recv(READ_SIZE)
            except ConnectionError:
                return
            if not data:
                return
            output.write(data)


@contextmanager
def forwarded_signals(client: BlockingClient, container: str) -> Iterator[None]:
    """SIGINT and SIGTERM become kill requests for the container while the block runs."""

    def forward(signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(EngineError):  # the container may have gone meanwhile
            client.call("POST", f"/containers/{container}/kill", {"signal": signal.Signals(signum).name})

    previous = {signum: signal.signal(signum, forward) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_plain(host: str, body: dict[str, Any], name: str | None, detach: bool, auto_remove: bool,
              pull: str = "missing", platform: str | None = None, quiet: bool = False) -> int:
    """`docker run` without -i/-t: the container's exit status (0 with -d, after printing its id)."""
    client = BlockingClient(host)
    container = create(client, body, name, host, pull, platform, quiet)
    if detach:
        start(client, container)
        print(container, flush=True)
        return 0
    sock, pending = client.hijack("POST", f"/containers/{container}/attach",
                                  {"stream": True, "stdin": False, "stdout": True, "stderr": True})
    wait: Exchange | None = None
    try:
        # Its head comes once the engine has registered the wait: an exit after that is not missed.
        wait = client.open("POST", f"/containers/{container}/wait",
                           {"condition": "removed" if auto_remove else "next-exit"})
        start(client, container)
        with forwarded_signals(client, container):
            copy_output(sock, pending, Output(tty=False))
            result = wait.json() or {}
    finally:
        sock.close()
        if wait is not None:
            wait.close()
    error = (result.get("Error") or {}).get("Message")
    if error:
        raise RunFailed(f"error waiting for container: {error}")
    return int(result.get("StatusCode", 0) or 0)


def exec_plain(host: str, container: str, body: dict[str, Any], detach: bool) -> int:
    """`docker exec` without -i/-t: the command's exit status (0 with -d)."""
    client = BlockingClient(host)
    exec_id = client.call("POST", f"/containers/{container}/exec", json=body)["Id"]
    start_body = {"Detach": detach, "Tty": False}
    if detach:
        client.call("POST", f"/exec/{exec_id}/start", json=start_body)
        return 0
    sock, pending = client.hijack("POST", f"/exec/{exec_id}/start", json=start_body)
    copy_output(sock, pending, Output(tty=False))
    # The engine ends the stream once the exit is recorded; a moment's grace for an older engine.
    for _ in range(EXEC_EXIT_POLL):
        info = client.call("GET", f"/exec/{exec_id}/json")
        if not info.get("Running"):
            break
        time.sleep(0.02)
    return int(info.get("ExitCode") or 0)
