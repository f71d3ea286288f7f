"""The engine's side of the supervisor protocol (anyio).

Requests go over a small pool of connections, one request in flight per
connection, so concurrent creates do not queue behind each other (the
supervisor answers a create only once the child reached its start gate).
`events()` keeps its own subscribed connection and reconnects when the
supervisor goes away and comes back; it says {"event": "disconnected"} at
once when the connection drops and {"event": "reconnected"} once it is
subscribed again: call `list()` then to catch up on what happened meanwhile.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import socket
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread

from runtime.containers.supervisor.protocol import SOCKET_NAME, ZERO_TIME, LineReader, unix_path
from runtime.spec import ContainerSpec, ExecSpec

MAX_IDLE = 8
RECONNECT_DELAY = 0.05  # a replaced supervisor answers ~0.2 s after the old one died


class SupervisorError(Exception):
    """The supervisor refused or failed a request.

    `phase` names the birth step that failed (RuntimeFailure); `kind` is
    "not_found", "conflict", "invalid", "runtime", "system", "internal" or
    "unavailable" (no supervisor answers: not running, or it died mid-request);
    `exit_code` is Docker's code for a command that cannot run (126/127).
    """

    def __init__(self, message: str, phase: str | None = None, *, kind: str | None = None,
                 exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message, self.phase, self.kind, self.exit_code = message, phase, kind, exit_code

    def __str__(self) -> str:
        return f"{self.phase}: {self.message}" if self.phase else self.message


class SupervisorUnavailable(SupervisorError, ConnectionError):
    """No supervisor answers (not started, or it died during the request); also an OSError."""

    def __init__(self, message: str) -> None:
        SupervisorError.__init__(self, message, kind="unavailable")


@dataclass(frozen=True)
class ContainerState:
    id: str
    status: str  # created | running | exited
    pid: int
    exit_code: int
    oom_killed: bool
    started_at: str = ZERO_TIME
    finished_at: str = ZERO_TIME

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ContainerState:
        return cls(d["id"], d["status"], int(d.get("pid") or 0), int(d.get("exit_code") or 0),
                   bool(d.get("oom_killed")), d.get("started_at") or ZERO_TIME, d.get("finished_at") or ZERO_TIME)


class _Channel:
    """One connection: send a request, read lines (and the fds that come with them)."""

    def __init__(self, stream: anyio.abc.UNIXSocketStream) -> None:
        self.stream = stream
        self.reader = LineReader()
        self.messages: deque[dict[str, Any]] = deque()
        self.fds: deque[int] = deque()

    @classmethod
    async def open(cls, root: Path) -> _Channel:
        address, dirfd = unix_path(root / SOCKET_NAME)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # A blocking connect in a worker: anyio.connect_unix spins while the backlog is full and,
            # cancelled as room comes, leaves a callback that sets its cancelled future (a traceback
            # in the engine's log). The supervisor accepts at once.
            await anyio.to_thread.run_sync(sock.connect, address)
            stream = await anyio.abc.UNIXSocketStream.from_socket(sock)
        except BaseException:
            sock.close()
            raise
        finally:
            if dirfd >= 0:
                os.close(dirfd)
        return cls(stream)

    async def send(self, message: dict[str, Any]) -> None:
        await self.stream.send(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    async def receive(self) -> tuple[dict[str, Any], list[int]]:
        while not self.messages:
            data, fds = await self.stream.receive_fds(65536, 4)
            for fd in fds:
                os.set_inheritable(fd, False)
            self.fds.extend(fds)
            self.messages.extend(self.reader.feed(data))
        message = self.messages.popleft()
        count = int(message.get("fds") or 0)
        return message, [self.fds.popleft() for _ in range(min(count, len(self.fds)))]

    def stale(self) -> bool:
        """Whether the supervisor closed this idle connection (it restarted, or went away)."""
        raw: socket.socket = self.stream.extra(anyio.abc.SocketAttribute.raw_socket)
        try:
            return raw.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    async def aclose(self) -> None:
        while self.fds:
            os.close(self.fds.popleft())
        await self.stream.aclose()


class SupervisorClient:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._idle: list[_Channel] = []
        self._ids = itertools.count(1)
        self._closed = False

    @classmethod
    async def connect(cls, root: Path) -> SupervisorClient:
        client = cls(root)
        await client._call("ping")
        return client

    async def _call(self, op: str, **fields: Any) -> tuple[dict[str, Any], list[int]]:
        if self._closed:
            raise SupervisorUnavailable("the supervisor client is closed")
        try:
            channel = await self._channel()
        except OSError as exc:
            raise SupervisorUnavailable(f"cannot reach the container supervisor: {exc}") from exc
        request_id = next(self._ids)
        try:
            await channel.send({"id": request_id, "op": op, **fields})
            while True:
                message, fds = await channel.receive()
                if message.get("id") == request_id:
                    break
                for fd in fds:
                    os.close(fd)
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await channel.aclose()
            if isinstance(exc, (anyio.EndOfStream, anyio.BrokenResourceError, OSError)):
                raise SupervisorUnavailable(f"lost the container supervisor during {op}") from exc
            raise
        if len(self._idle) < MAX_IDLE and not self._closed:
            self._idle.append(channel)
        else:
            await channel.aclose()
        if not message.get("ok"):
            for fd in fds:
                os.close(fd)
            raise SupervisorError(str(message.get("error") or "request failed"), message.get("phase"),
                                  kind=message.get("kind"), exit_code=message.get("exit_code"))
        return message, fds

    async def _channel(self) -> _Channel:
        while self._idle:
            channel = self._idle.pop()
            if not channel.stale():
                return channel
            await channel.aclose()
        return await _Channel.open(self.root)

    # -- containers ----------------------------------------------------------------------------

    async def create(self, spec: ContainerSpec, *, max_size: int | None, max_file: int, stdin_open: bool,
                     tty: bool, stdin_once: bool = False, log_driver: str = "json-file",
                     log_compress: bool = False, log_attrs: dict[str, str] | None = None) -> int:
        """Clone the container's PID 1 and wait until it is set up and waiting to start; its host pid."""
        log = {"driver": log_driver, "max_size": max_size, "max_file": max_file, "compress": log_compress,
               "attrs": log_attrs or {}}
        answer, _ = await self._call("create", spec=asdict(spec), log=log,
                                     stdin_open=stdin_open, tty=tty, stdin_once=stdin_once)
        return int(answer["pid"])

    async def start(self, id: str) -> str:
        """Release the start gate; returns started_at once the command is exec'd."""
        answer, _ = await self._call("start", cid=id)
        return str(answer.get("started_at") or ZERO_TIME)

    async def kill(self, id: str, signal: int) -> None:
        await self._call("kill", cid=id, signal=int(signal))

    async def freeze(self, id: str, frozen: bool) -> None:
        """Pause (freeze) or unpause (thaw) every process of the container."""
        await self._call("freeze", cid=id, frozen=frozen)

    async def delete(self, id: str, *, force: bool = False) -> None:
        """Forget a container that is not running: cgroup, mounts and state file (the bundle stays)."""
        await self._call("delete", cid=id, force=force)

    async def state(self, id: str) -> ContainerState:
        answer, _ = await self._call("state", cid=id)
        return ContainerState.from_dict(answer["state"])

    async def list(self) -> list[ContainerState]:
        answer, _ = await self._call("list")
        return [ContainerState.from_dict(d) for d in answer["containers"]]

    async def attach(self, id: str, stdin: bool) -> socket.socket:
        """A stream of the container's output from now on (framed unless TTY); input goes to stdin."""
        _, fds = await self._call("attach", cid=id, stdin=stdin)
        return _socket(fds)

    async def exec(self, id: str, spec: ExecSpec, *, tty: bool, stdin: bool) -> tuple[int, socket.socket]:
        """Start a process in the container; (exec_pid, its stream). Its exit comes as an exec-exit event."""
        answer, fds = await self._call("exec", cid=id, spec=asdict(spec), tty=tty, stdin=stdin)
        return int(answer["exec_pid"]), _socket(fds)

    async def archive(self, id: str, action: str, path: str, *, strict: bool = False,
                      owner: tuple[int, int] | None = None, spec: dict[str, Any] | None = None,
                      binds: tuple[str, ...] = ()) -> socket.socket:
        """A socket to a job in the container's file system ("put": write the tar, then read its answer).

        Without `spec`, in the live container's mount namespace; with its spec (a container with no
        process), on its overlay and the mounts at `binds`, mounted for the job alone.
        """
        fields: dict[str, Any] = {"spec": spec, "binds": list(binds)} if spec is not None else {"cid": id}
        _, fds = await self._call("archive", action=action, path=path, strict=strict,
                                  owner=list(owner) if owner else None, **fields)
        return _socket(fds)

    async def exec_state(self, exec_pid: int) -> dict[str, Any]:
        answer, _ = await self._call("exec_state", exec_pid=exec_pid)
        state: dict[str, Any] = answer["state"]
        return state

    async def exec_kill(self, exec_pid: int, signal: int) -> None:
        await self._call("exec_kill", exec_pid=exec_pid, signal=int(signal))

    async def resize(self, target: str | int, rows: int, cols: int) -> None:
        await self._call("resize", target=target, rows=rows, cols=cols)

    async def shutdown(self, force: bool = False) -> None:
        await self._call("shutdown", force=force)

    async def subscribe(self) -> EventStream:
        """An event stream already subscribed when this returns: no later event is missed.

        If the supervisor goes away the stream yields {"event": "disconnected"},
        reconnects and yields {"event": "reconnected"}; `list()` then tells what
        changed meanwhile.
        """
        stream = EventStream(self)
        await stream.connect(first=True)
        return stream

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Every event from the first iteration on; reconnects when the supervisor connection drops."""
        stream = EventStream(self)
        await stream.connect(first=False)
        try:
            async for event in stream:
                yield event
        finally:
            with anyio.CancelScope(shield=True):
                await stream.aclose()

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for channel in idle:
            with contextlib.suppress(Exception):
                await channel.aclose()


class EventStream:
    """Events of one subscribed connection, reconnecting (and re-subscribing) when it drops."""

    def __init__(self, client: SupervisorClient) -> None:
        self.client = client
        self.channel: _Channel | None = None
        self._reconnected = False

    async def connect(self, first: bool) -> None:
        """Open and subscribe; `first`: fail with SupervisorUnavailable instead of waiting for a supervisor."""
        while not self.client._closed:
            try:
                channel = await _Channel.open(self.client.root)
            except OSError as exc:
                if first:
                    raise SupervisorUnavailable(f"cannot reach the container supervisor: {exc}") from exc
                await anyio.sleep(RECONNECT_DELAY)
                continue
            try:
                await channel.send({"id": 0, "op": "subscribe"})
                message, _ = await channel.receive()  # events only flow after this answer
                if message.get("ok"):
                    self.channel = channel
                    return
            except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                pass
            with anyio.CancelScope(shield=True):
                await channel.aclose()
            if first:
                raise SupervisorUnavailable("the supervisor refused the subscription")
            await anyio.sleep(RECONNECT_DELAY)
        raise SupervisorUnavailable("the supervisor client is closed")

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        while True:
            if self._reconnected:
                self._reconnected = False
                return {"event": "reconnected"}
            if self.channel is None:
                try:
                    await self.connect(first=False)
                except SupervisorUnavailable:
                    raise StopAsyncIteration from None
                self._reconnected = True
                continue
            try:
                message, fds = await self.channel.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                with anyio.CancelScope(shield=True):
                    await self.channel.aclose()
                self.channel = None
                return {"event": "disconnected"}  # the supervisor died (or stopped): reconnecting next
            for fd in fds:
                os.close(fd)
            if "event" in message:
                return message

    async def aclose(self) -> None:
        if self.channel is not None:
            channel, self.channel = self.channel, None
            await channel.aclose()


def _socket(fds: list[int]) -> socket.socket:
    if len(fds) != 1:
        for fd in fds:
            os.close(fd)
        raise SupervisorError(f"expected one stream from the supervisor, got {len(fds)}", kind="internal")
    return socket.socket(fileno=fds[0])
