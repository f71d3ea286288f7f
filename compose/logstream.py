"""Containers' output as Docker Compose prints it: `web-1  | line`, one colour per container.

Decoding: a logs stream is Docker's multiplexed frames (8-byte header:
stream, three zero bytes, size) unless the container has a TTY, which the
response's media type says; bytes become whole lines per container and
stream. Printing: the prefix is the container's name without the project
(`web-1`), padded to the longest name so far plus one, coloured from the
same rainbow as Docker Compose's. Following: `ProjectLogs.follow` streams
the logs of running containers and, from `/events`, those that start or
restart later, and reports each exit once its output has been printed.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

import anyio

from compose import labels as L
from compose.client.multiplex import Demultiplexer
from compose.observed import parse_time

if TYPE_CHECKING:
    from compose.client import EngineClient, Response

MULTIPLEXED = "application/vnd.docker.multiplexed-stream"
RAW = "application/vnd.docker.raw-stream"
# Docker Compose's rainbow: cyan, yellow, green, magenta, blue, then their bright forms.
RAINBOW = ("36", "33", "32", "35", "34", "36;1", "33;1", "32;1", "35;1", "34;1")
FOLLOWED_EVENTS = ("start", "die", "destroy")


def colour(code: str, text: str) -> str:
    return f"\x1b[{code}m{text}\x1b[0m"


class Lines:
    """Bytes -> whole lines (without the newline), per stream; `flush` gives the unfinished rest."""

    def __init__(self) -> None:
        self._partial: dict[int, bytes] = {}

    def feed(self, fd: int, data: bytes) -> list[bytes]:
        pieces = (self._partial.pop(fd, b"") + data).split(b"\n")
        if pieces[-1]:
            self._partial[fd] = pieces[-1]
        return [p.removesuffix(b"\r") for p in pieces[:-1]]

    def flush(self) -> list[tuple[int, bytes]]:
        rest = sorted(self._partial.items())
        self._partial.clear()
        return rest


class Decoder:
    """A logs or attach stream -> (fd, line) for one container."""

    def __init__(self, multiplexed: bool) -> None:
        self.frames = Demultiplexer() if multiplexed else None
        self.lines = Lines()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        pieces = self.frames.feed(data) if self.frames is not None else [(1, data)]
        return [(fd, line) for fd, chunk in pieces for line in self.lines.feed(fd, chunk)]

    def flush(self) -> list[tuple[int, bytes]]:
        return self.lines.flush()


def display_name(name: str, labels: Mapping[str, str]) -> str:
    """`p-web-1` -> `web-1` (Docker Compose's prefix); other names as they are."""
    project, service = labels.get(L.PROJECT), labels.get(L.SERVICE)
    if project and service and name.startswith(f"{project}-{service}-"):
        return name[len(project) + 1:]
    return name


class LogPrinter:
    """Writes lines with their container's prefix; stdout lines to `out`, stderr lines to `err`."""

    def __init__(self, out: BinaryIO, err: BinaryIO | None = None, *, color: bool = True,
                 prefix: bool = True) -> None:
        self.out, self.err = out, err or out
        self.color, self.prefix = color, prefix
        self.colours: dict[str, str] = {}
        self.width = 0

    def register(self, name: str) -> None:
        if name not in self.colours:
            self.colours[name] = RAINBOW[len(self.colours) % len(RAINBOW)]
            self.width = max(self.width, len(name) + 1)

    def _paint(self, name: str, text: str) -> str:
        return colour(self.colours[name], text) if self.color else text

    def head(self, name: str) -> bytes:
        self.register(name)
        if not self.prefix:
            return b""
        return self._paint(name, f"{name:<{self.width}} | ").encode()

    def line(self, name: str, text: bytes, fd: int = 1) -> None:
        stream = self.err if fd == 2 else self.out
        stream.write(self.head(name) + text + b"\n")
        stream.flush()

    def status(self, name: str, message: str) -> None:
        self.register(name)
        self.out.write(self._paint(name, f"{name} {message}").encode() + b"\n")
        self.out.flush()


@dataclass(frozen=True)
class LogOptions:
    follow: bool = False
    tail: str = "all"
    since: str | None = None  # Unix seconds (the engine's form)
    until: str | None = None
    timestamps: bool = False

    def params(self, since: str | None = None) -> dict[str, Any]:
        return {"stdout": True, "stderr": True, "follow": self.follow, "tail": self.tail,
                "since": since or self.since, "until": self.until, "timestamps": self.timestamps}


@dataclass(frozen=True)
class Exit:
    """A container stopped for good (not restarting) and all its output was printed."""

    id: str
    name: str
    service: str
    code: int | None  # None when it was removed without a die event we saw


@dataclass
class Tracked:
    id: str
    name: str  # display name
    service: str
    active: bool = False
    begun: float = 0.0  # wall time of the latest logs request
    ended: float = 0.0
    pending: float | None = None  # start of a run the active stream may not cover
    last_die: float | None = None  # engine time of the latest exit: the next run's lines come after it
    code: int | None = None
    died: bool = False
    done: bool = False


def summary_labels(summary: Mapping[str, Any]) -> dict[str, str]:
    labels = summary.get("Labels")
    if labels is None:
        labels = (summary.get("Config") or {}).get("Labels")
    return {str(k): str(v) for k, v in (labels or {}).items()}


def summary_name(summary: Mapping[str, Any]) -> str:
    names = summary.get("Names")
    return str(names[0] if names else summary.get("Name") or "").lstrip("/")


class Subscription:
    """An `/events` stream already answered (so nothing after it is missed); iterate it once, then close."""

    def __init__(self, response: Response) -> None:
        self.response = response

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        from compose.client import EngineError

        try:
            async for event in self.response.json_stream():
                yield event
        except EngineError:
            return  # the engine went away or ended the stream: no more events

    async def aclose(self) -> None:
        await self.response.aclose()


def _stamp(seconds: float) -> str:
    return f"{seconds:.6f}"


@dataclass
class ProjectLogs:
    """The logs of one project's containers, through one printer."""

    client: EngineClient
    project: str
    printer: LogPrinter
    options: LogOptions = field(default_factory=LogOptions)
    services: frozenset[str] | None = None  # None: all
    index: int | None = None
    on_exit: Callable[[Exit], None] | None = None
    stop_when_done: bool = True  # follow ends once every followed container has stopped
    grace: float = 0.5  # ... and none started again within this many seconds
    tracked: dict[str, Tracked] = field(default_factory=dict)
    _group: anyio.abc.TaskGroup | None = None

    def wanted(self, labels: Mapping[str, str]) -> bool:
        if labels.get(L.PROJECT) != self.project or labels.get(L.ONEOFF, "False").lower() == "true":
            return False
        if self.services is not None and labels.get(L.SERVICE) not in self.services:
            return False
        return self.index is None or labels.get(L.NUMBER) == str(self.index)

    async def containers(self, running_only: bool = False) -> list[dict[str, Any]]:
        params = {"all": not running_only, "filters": L.project_filter(self.project)}
        found = await (await self.client.get("/containers/json", params)).json() or []
        chosen = [c for c in found if self.wanted(summary_labels(c))]
        return sorted(chosen, key=lambda c: summary_name(c))

    async def subscribe(self) -> Subscription:
        """The project's container starts, deaths and removals from now on: subscribe before acting."""
        filters = {"type": ["container"], "event": list(FOLLOWED_EVENTS),
                   "label": [f"{L.PROJECT}={self.project}", f"{L.ONEOFF}=False"]}
        return Subscription(await self.client.get("/events", {"filters": filters}))

    async def copy(self, container: str, name: str, params: Mapping[str, Any]) -> None:
        """One logs request, printed line by line."""
        response = await self.client.get(f"/containers/{container}/logs", params)
        kind = (response.header("content-type") or MULTIPLEXED).split(";")[0].strip()
        decoder = Decoder(kind != RAW)
        try:
            async for chunk in response.stream():
                for fd, line in decoder.feed(chunk):
                    self.printer.line(name, line, fd)
            for fd, rest in decoder.flush():
                self.printer.line(name, rest, fd)
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()

    async def show(self) -> None:
        """Every selected container's logs up to now (no follow), side by side."""
        found = await self.containers()
        names = [display_name(summary_name(c), summary_labels(c)) for c in found]
        for name in names:
            self.printer.register(name)
        params = self.options.params()
        params["follow"] = False
        async with anyio.create_task_group() as tasks:
            for summary, name in zip(found, names, strict=True):
                tasks.start_soon(self.copy, str(summary["Id"]), name, params)

    async def follow(self, events: AsyncIterable[dict[str, Any]],
                     initial: Iterable[Mapping[str, Any]], *, history_of_stopped: bool = True) -> None:
        """Follow `initial` and the containers that start later, until all stopped (or cancelled).

        `events` must have been subscribed before `initial` was listed. With
        `history_of_stopped`, a container of `initial` that is not running
        only has its logs printed (first); else it is followed like the rest,
        its end known from the events.
        """
        chosen = [(s, summary_labels(s)) for s in initial]
        for summary, labels in chosen:
            self.printer.register(display_name(summary_name(summary), labels))
        followed = []
        async with anyio.create_task_group() as history:
            for summary, labels in chosen:
                running = str(summary.get("State") or "") in ("running", "restarting", "paused")
                if running or not history_of_stopped:
                    followed.append((summary, labels))
                else:
                    name = display_name(summary_name(summary), labels)
                    history.start_soon(self.copy, str(summary["Id"]), name, {**self.options.params(), "follow": False})
        async with anyio.create_task_group() as tasks:
            self._group = tasks
            for summary, labels in followed:
                t = self._track(str(summary["Id"]), display_name(summary_name(summary), labels), labels)
                self._spawn(t, self.options.since)
            tasks.start_soon(self._watch, events)
            self._check_done()

    def _track(self, cid: str, name: str, labels: Mapping[str, str]) -> Tracked:
        if cid not in self.tracked:
            self.tracked[cid] = Tracked(cid, name, labels.get(L.SERVICE, ""))
        return self.tracked[cid]

    def _spawn(self, t: Tracked, since: str | None) -> None:
        assert self._group is not None
        t.active, t.begun = True, time.time()
        self._group.start_soon(self._run, t, since)

    async def _run(self, t: Tracked, since: str | None) -> None:
        from compose.client import EngineError

        try:
            await self.copy(t.id, t.name, self.options.params(since))
        except EngineError as exc:
            if exc.status != 404:  # removed meanwhile: nothing more to print
                self.printer.status(t.name, f"logs unavailable: {exc}")
        t.active, t.ended = False, time.time()
        if t.pending is not None:
            # The engine ends a follow with its run, so the next run is asked for from the exit on.
            start, t.pending = t.pending, None
            self._spawn(t, _stamp(t.last_die if t.last_die is not None and t.last_die <= start else start))
            return
        self._finish(t)

    async def _watch(self, events: AsyncIterable[dict[str, Any]]) -> None:
        async for event in events:
            actor = event.get("Actor") or {}
            cid, attrs = str(actor.get("ID") or event.get("id") or ""), actor.get("Attributes") or {}
            action = str(event.get("Action") or event.get("status") or "")
            when = int(event.get("timeNano") or 0) / 1e9 or float(event.get("time") or 0) or time.time()
            if action == "start":
                await self._started(cid, attrs, when)
            elif action == "die" and cid in self.tracked:
                self.tracked[cid].last_die = when
                await self._died(self.tracked[cid], attrs)
            elif action == "destroy" and cid in self.tracked:
                t = self.tracked[cid]
                t.died = True
                self._finish(t)

    async def _started(self, cid: str, attrs: Mapping[str, str], when: float) -> None:
        t = self.tracked.get(cid)
        if t is None:
            if not self.wanted(attrs):
                return
            name = display_name(str(attrs.get("name") or cid[:12]), attrs)
            t = self._track(cid, name, attrs)
            t.begun = 0.0
            t.last_die = await self._started_at(cid)  # output may come before the start event: ask from there
        t.died = t.done = False  # events come in order: a die after this start counts again
        if when <= t.begun:
            return  # the current stream began after this start: it covers the run
        if t.active:
            t.pending = when
        else:
            self._spawn(t, _stamp(t.last_die if t.last_die is not None and t.last_die <= when else when))

    async def _died(self, t: Tracked, attrs: Mapping[str, str]) -> None:
        code = attrs.get("exitCode")
        t.code = int(code) if code is not None and str(code).lstrip("-").isdigit() else None
        if await self._restarting(t.id):
            self.printer.status(t.name, f"exited with code {t.code} (restarting)")
            return
        t.died = True
        self._finish(t)

    async def _state(self, cid: str) -> dict[str, Any]:
        """The container's State from inspect; empty when it is gone."""
        from compose.client import EngineError

        try:
            info = await (await self.client.get(f"/containers/{cid}/json")).json() or {}
        except EngineError:
            return {}
        return dict(info.get("State") or {})

    async def _started_at(self, cid: str) -> float | None:
        return parse_time((await self._state(cid)).get("StartedAt"))

    async def _restarting(self, cid: str) -> bool:
        state = await self._state(cid)
        return bool(state.get("Restarting")) or state.get("Status") in ("restarting", "running")

    def _finish(self, t: Tracked) -> None:
        if t.active or not t.died or t.done:
            return
        t.done = True
        if t.code is not None:
            self.printer.status(t.name, f"exited with code {t.code}")
        if self.on_exit is not None:
            self.on_exit(Exit(t.id, t.name, t.service, t.code))
        self._check_done()

    def _all_done(self) -> bool:
        return all(t.done for t in self.tracked.values())

    def _check_done(self) -> None:
        if self.stop_when_done and self._group is not None and self._all_done():
            if not self.tracked or self.grace <= 0:
                self._group.cancel_scope.cancel()
            else:
                self._group.start_soon(self._end_after_grace)

    async def _end_after_grace(self) -> None:
        # A restart's `die` comes before its `start`: give the start a moment before calling it the end.
        await anyio.sleep(self.grace)
        if self._group is not None and self._all_done():
            self._group.cancel_scope.cancel()
