"""A small Python API over the same layers as the CLI, for scripts and test suites.

    project = Project.load("tests/stack", project_name="it", env={"TAG": "1"})
    project.up(wait=True)
    host, port = project.port("web", 80)
    code, output = project.exec("db", ["pg_isready"])
    project.down(volumes=True)

Each call is synchronous (one event loop per call) and talks to the engine
at `host`, $DOCKER_HOST, or the default socket (started on demand, as the
CLI does). Progress is quiet unless asked for; errors are the CLI's
(`ComposeError` and its kinds, `EngineError`), never a bare traceback type.
"""

from __future__ import annotations

import io
import os
import shlex
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from compose.cli.main import GlobalOptions
from compose.errors import ComposeError

if TYPE_CHECKING:
    from compose import model
    from compose.client import EngineClient
    from compose.loader.project import LoadOptions

T = TypeVar("T")
Source = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None
# Ports published on every address are reached on the loopback one.
_ANY = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def _load_options(source: Source, project_name: str | None, env: Mapping[str, str] | None,
                  profiles: Sequence[str]) -> LoadOptions:
    from compose.loader.project import LoadOptions

    files: tuple[str, ...] = ()
    directory = None
    if isinstance(source, str | os.PathLike):
        path = Path(source).absolute()
        if path.is_dir():
            directory = str(path)
        else:
            files = (str(path),)
    elif source is not None:
        files = tuple(str(Path(f).absolute()) for f in source)
    return LoadOptions(working_dir=Path.cwd(), files=files, project_name=project_name, project_directory=directory,
                       profiles=tuple(profiles), environ={**os.environ, **(env or {})})


class Project:
    """A loaded compose project and the engine it runs on."""

    def __init__(self, model: model.Project, load_options: LoadOptions, host: str | None = None,
                 progress: str = "quiet") -> None:
        self.model = model
        self.load_options = load_options
        self.host = host
        self.options = GlobalOptions(files=load_options.files, project_name=model.name,
                                     project_directory=load_options.project_directory, env_files=(),
                                     profiles=load_options.profiles, parallel=-1, progress=progress, ansi="never")

    @classmethod
    def load(cls, source: Source = None, *, project_name: str | None = None, env: Mapping[str, str] | None = None,
             profiles: Sequence[str] = (), host: str | None = None, progress: str = "quiet") -> Project:
        """From a compose file, a list of them, or a folder to search (None: the current one)."""
        from compose.loader.project import load_project

        options = _load_options(source, project_name, env, profiles)
        return cls(load_project(options).project, options, host, progress)

    @property
    def name(self) -> str:
        return self.model.name

    def _call(self, func: Callable[[EngineClient], Awaitable[T]]) -> T:
        from compose.cli.project_cmd import call

        return call(func, self.host)

    def _known(self) -> frozenset[str]:
        from dataclasses import replace

        from compose.loader.project import load_project

        try:
            return frozenset(load_project(replace(self.load_options, profiles=("*",))).project.services)
        except ComposeError:
            return frozenset(self.model.services)

    def up(self, wait: bool = True, services: Sequence[str] = (), *, wait_timeout: float | None = None,
           force_recreate: bool = False, remove_orphans: bool = False, timeout: int | None = None) -> None:
        """Create and start the services (detached); with `wait`, until running or healthy."""
        from compose.cli.up import converge
        from compose.plan import UpOptions

        options = UpOptions(services=tuple(services), wait=wait, wait_timeout=wait_timeout,
                            force_recreate=force_recreate, remove_orphans=remove_orphans, timeout=timeout)
        known = self._known()
        self._call(lambda client: converge(client, self.options, self.model, options, known=known))

    def down(self, volumes: bool = True, remove_orphans: bool = True, timeout: int | None = None) -> None:
        """Stop and remove containers and networks; with `volumes`, the project's volumes too."""
        from compose.cli.project_cmd import execute, observe
        from compose.plan import DownOptions, plan_down

        async def flow(client: EngineClient) -> None:
            observed = await observe(client, self.model)
            plan = plan_down(self.model, observed, DownOptions(volumes=volumes, remove_orphans=remove_orphans,
                                                               timeout=timeout, known_services=self._known()))
            plan.warnings.clear()  # "nothing to remove" is no news to a fixture's teardown
            await execute(client, self.options, plan)

        self._call(flow)

    def ps(self, all: bool = True) -> list[dict[str, Any]]:
        """The project's container summaries (GET /containers/json), by name."""
        from compose import labels as L

        async def flow(client: EngineClient) -> list[dict[str, Any]]:
            params = {"all": all, "filters": L.project_filter(self.name)}
            return list(await (await client.get("/containers/json", params)).json() or [])

        return sorted(self._call(flow), key=lambda c: str((c.get("Names") or [""])[0]))

    def _container(self, client: EngineClient, service: str, index: int) -> Awaitable[Any]:
        from compose.cli.exec import find_container

        return find_container(client, self.model, service, index)

    def port(self, service: str, private_port: int, protocol: str = "tcp", index: int = 1) -> tuple[str, int]:
        """The (host, port) where replica `index` publishes `private_port` (any address -> loopback)."""

        async def flow(client: EngineClient) -> list[dict[str, Any]]:
            container = await self._container(client, service, index)
            info = await (await client.get(f"/containers/{container.id}/json")).json() or {}
            ports = (info.get("NetworkSettings") or {}).get("Ports") or {}
            return list(ports.get(f"{private_port}/{protocol}") or [])

        bindings = self._call(flow)
        for binding in bindings:
            if binding.get("HostPort"):
                host = str(binding.get("HostIp") or "")
                return _ANY.get(host, host), int(binding["HostPort"])
        raise ComposeError(f"service {service}: port {private_port}/{protocol} is not published")

    def exec(self, service: str, cmd: str | Sequence[str], *, index: int = 1, user: str | None = None,
             env: Mapping[str, str] | None = None, workdir: str | None = None) -> tuple[int, str]:
        """Run `cmd` (a list, or a string split as a shell would) in a running replica: (exit code, output)."""
        from compose.cli.exec import exec_body

        command = tuple(shlex.split(cmd) if isinstance(cmd, str) else cmd)
        body = exec_body(command, tty=False, interactive=False, detach=False,
                         env=[f"{k}={v}" for k, v in (env or {}).items()], user=user, workdir=workdir,
                         privileged=False)

        async def flow(client: EngineClient) -> tuple[int, str]:
            container = await self._container(client, service, index)
            return await exec_output(client, container.id, body)

        return self._call(flow)

    def logs(self, service: str | None = None, *, tail: str = "all", timestamps: bool = False) -> str:
        """The output so far: of one service without prefixes, or of all with `web-1  | ` prefixes."""
        from compose.logstream import LogOptions, LogPrinter, ProjectLogs

        out = io.BytesIO()
        printer = LogPrinter(out, color=False, prefix=service is None)

        async def flow(client: EngineClient) -> None:
            services = frozenset([service]) if service else None
            await ProjectLogs(client, self.name, printer, LogOptions(tail=tail, timestamps=timestamps),
                              services=services).show()

        if service is not None and service not in self.model.services:
            raise ComposeError(f"no such service: {service}")
        self._call(flow)
        return out.getvalue().decode(errors="replace")

    def __enter__(self) -> Project:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()


async def exec_output(client: EngineClient, container: str, body: Mapping[str, Any]) -> tuple[int, str]:
    """Create and start an exec, collect stdout and stderr together, then its exit code."""
    import anyio

    from compose.client.multiplex import Demultiplexer

    exec_id = (await (await client.post(f"/containers/{container}/exec", json=dict(body))).json())["Id"]
    stream = await client.hijack("POST", f"/exec/{exec_id}/start", json={"Detach": False, "Tty": False})
    frames, chunks = Demultiplexer(), []
    async with stream:
        while True:
            try:
                data = await stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, ConnectionError):
                break
            if not data:
                break
            chunks += [payload for _, payload in frames.feed(data)]
    code = 0
    for _ in range(100):  # the stream may end a moment before the engine records the exit
        info = await (await client.get(f"/exec/{exec_id}/json")).json() or {}
        code = int(info.get("ExitCode") or 0)
        if not info.get("Running"):
            break
        await anyio.sleep(0.02)
    return code, b"".join(chunks).decode(errors="replace")
