"""A fake engine that speaks Docker's container API, for testing the CLI's flows alone.

Its "containers" run a tiny command language instead of processes:
`echo WORDS` prints them, `fail N` prints to stderr and exits N, `cat`
copies stdin to stdout until EOF, `sleep` runs until killed. It records
every call in order, so tests can check that `run` attaches and waits
before it starts. It is served from a thread (a blocking portal) so the
CLI under test runs as a real subprocess.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
from anyio.from_thread import start_blocking_portal

from compose.cli.streams import frame
from runtime.api.errors import EngineError, not_found
from runtime.api.http import RawStream, Request, Response, empty_response, json_response
from runtime.api.router import Route, Router
from runtime.api.server import serve
from tests.runtime.api.inprocess import short_dir

IMAGES = {"busybox", "busybox:latest"}


@dataclass
class FakeContainer:
    id: str
    name: str
    body: dict[str, Any]
    status: str = "created"
    code: int | None = None
    exited: anyio.Event = field(default_factory=anyio.Event)
    attached: list[tuple[RawStream, bool]] = field(default_factory=list)
    stdin: RawStream | None = None
    done: list[anyio.Event] = field(default_factory=list)

    @property
    def tty(self) -> bool:
        return bool(self.body.get("Tty"))


class FakeEngine:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.containers: dict[str, FakeContainer] = {}
        self.execs: dict[str, dict[str, Any]] = {}
        self.tasks: anyio.abc.TaskGroup | None = None
        self._ids = itertools.count(1)
        self.socket: Path | None = None

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def find(self, ref: str) -> FakeContainer:
        for c in self.containers.values():
            if ref in (c.id, c.name) or (len(ref) >= 4 and c.id.startswith(ref)):
                return c
        raise not_found(f"No such container: {ref}")

    # handlers

    async def create(self, _: None, request: Request) -> Response:
        body = await request.json()
        self.calls.append("create")
        if body["Image"] not in IMAGES:
            raise not_found(f"No such image: {body['Image']}")
        cid = f"{next(self._ids):064x}"
        name = request.arg("name") or f"c{cid[-4:]}"
        self.containers[cid] = FakeContainer(cid, name, body)
        return json_response({"Id": cid, "Warnings": ["fake warning"] if body.get("Labels") else []}, 201)

    async def attach(self, _: None, request: Request) -> Response:
        c = self.find(request.params["id"])
        self.calls.append("attach")
        stdin = request.flag("stdin")
        done = anyio.Event()
        c.done.append(done)

        async def run(raw: RawStream) -> None:
            c.attached.append((raw, stdin))
            if stdin:
                c.stdin = raw
            await done.wait()

        return Response(200, hijack=run)

    async def wait(self, _: None, request: Request) -> Response:
        c = self.find(request.params["id"])
        self.calls.append(f"wait:{request.arg('condition')}")

        async def body() -> Any:
            yield b""
            await c.exited.wait()
            yield json_response({"StatusCode": c.code, "Error": None}).body

        return Response(200, body(), [("Content-Type", "application/json")])

    async def start(self, _: None, request: Request) -> Response:
        c = self.find(request.params["id"])
        self.calls.append("start")
        if c.status == "running":
            return empty_response(304)
        if c.body.get("Cmd", [""])[0] == "missing":
            raise EngineError(400, 'exec: "missing": executable file not found in $PATH')
        c.status = "running"
        assert self.tasks is not None
        self.tasks.start_soon(self.process, c)
        return empty_response(204)

    async def process(self, c: FakeContainer) -> None:
        command = c.body.get("Cmd") or ["sh"]
        code = 0
        if command[0] == "echo":
            await self.emit(c, 1, (" ".join(command[1:]) + "\n").encode())
        elif command[0] == "fail":
            await self.emit(c, 2, b"failing\n")
            code = int(command[1])
        elif command[0] == "cat" and c.stdin is not None:
            with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
                while True:
                    await self.emit(c, 1, await c.stdin.receive())
        elif command[0] == "sleep":
            await anyio.sleep_forever()
        await self.exit(c, code)

    async def emit(self, c: FakeContainer, kind: int, data: bytes) -> None:
        for raw, _ in c.attached:
            await raw.send(data if c.tty else frame(kind, data))

    async def exit(self, c: FakeContainer, code: int) -> None:
        c.status, c.code = "exited", code
        for event in c.done:
            event.set()
        if c.body.get("HostConfig", {}).get("AutoRemove"):
            self.containers.pop(c.id, None)
        c.exited.set()

    async def kill(self, _: None, request: Request) -> Response:
        c = self.find(request.params["id"])
        signame = request.arg("signal") or "SIGKILL"
        self.calls.append(f"kill:{signame}")
        await self.exit(c, 130 if signame == "SIGINT" else 137)
        return empty_response(204)

    async def resize(self, _: None, request: Request) -> Response:
        self.calls.append(f"resize:{request.arg('h')}x{request.arg('w')}")
        return empty_response(200)

    async def inspect(self, _: None, request: Request) -> Response:
        c = self.find(request.params["id"])
        return json_response({"Id": c.id, "Name": "/" + c.name, "Config": {"Tty": c.tty},
                              "HostConfig": c.body.get("HostConfig", {}), "State": {"Status": c.status}})

    async def logs(self, _: None, request: Request) -> Response:
        c = self.find(request.params["id"])
        self.calls.append(f"logs:tail={request.arg('tail')}:since={request.arg('since')}")
        data = b"line one\n" if c.tty else frame(1, b"line one\n") + frame(2, b"line two\n")
        return Response(200, data)

    async def create_exec(self, _: None, request: Request) -> Response:
        c = self.find(request.params["id"])
        body = await request.json()
        exec_id = f"e{len(self.execs)}"
        self.execs[exec_id] = {"body": body, "container": c.id, "Running": False, "ExitCode": None}
        self.calls.append("exec-create")
        return json_response({"Id": exec_id}, 201)

    async def start_exec(self, _: None, request: Request) -> Response:
        record = self.execs[request.params["id"]]
        options = await request.json()
        self.calls.append(f"exec-start:detach={options.get('Detach')}")
        command = record["body"]["Cmd"]
        record["ExitCode"] = int(command[1]) if command[0] == "fail" else 0
        if options.get("Detach"):
            return empty_response(200)

        async def run(raw: RawStream) -> None:
            await raw.send(frame(1, (" ".join(command) + "\n").encode()))
            await raw.aclose()

        return Response(200, hijack=run)

    async def inspect_exec(self, _: None, request: Request) -> Response:
        record = self.execs[request.params["id"]]
        return json_response({"Running": record["Running"], "ExitCode": record["ExitCode"]})

    async def simple(self, _: None, request: Request) -> Response:
        c = self.find(request.params["id"])
        action = request.path.rsplit("/", 1)[-1]
        if request.method == "DELETE":
            self.containers.pop(c.id)
            action = "rm"
        self.calls.append(f"{action}:{c.name}")
        return empty_response(204)

    def router(self) -> Router[None]:
        routes: list[Route[None]] = [
            Route("POST", "/containers/create", self.create),
            Route("POST", "/containers/{id}/attach", self.attach),
            Route("POST", "/containers/{id}/wait", self.wait),
            Route("POST", "/containers/{id}/start", self.start),
            Route("POST", "/containers/{id}/kill", self.kill),
            Route("POST", "/containers/{id}/resize", self.resize),
            Route("GET", "/containers/{id}/json", self.inspect),
            Route("GET", "/containers/{id}/logs", self.logs),
            Route("POST", "/containers/{id}/exec", self.create_exec),
            Route("POST", "/exec/{id}/start", self.start_exec),
            Route("GET", "/exec/{id}/json", self.inspect_exec),
            Route("POST", "/containers/{id}/stop", self.simple),
            Route("POST", "/containers/{id}/restart", self.simple),
            Route("DELETE", "/containers/{id}", self.simple),
        ]
        return Router(None, routes, [("Api-Version", "1.45")])

    async def serve(self, path: Path, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        listener = await anyio.create_unix_listener(path)
        async with listener, anyio.create_task_group() as tasks:
            self.tasks = tasks
            tasks.start_soon(serve, listener, self.router())
            task_status.started()


@contextlib.contextmanager
def fake_engine() -> Iterator[FakeEngine]:
    fake = FakeEngine()
    with short_dir() as d, start_blocking_portal() as portal:
        fake.socket = d / "engine.sock"
        portal.start_task(fake.serve, fake.socket)
        try:
            yield fake
        finally:
            portal.call(_cancel, fake)


async def _cancel(fake: FakeEngine) -> None:
    if fake.tasks is not None:
        fake.tasks.cancel_scope.cancel()
