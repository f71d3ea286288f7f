"""A small Python API over the same layers as the CLI, for scripts and test suites.

    project = Project.load("tests/stack", project_name="it", env={"TAG": "1"})
    project.up(wait=True)
    host, port = project.port("web", 80)          # Endpoint(host, port)
    code, output = project.exec("db", ["pg_isready"])  # ExecResult(exit_code, output)
    project.wait_healthy("db", timeout=30)
    project.cp("./seed.sql", "db:/docker-entrypoint-initdb.d/")  # and "db:/var/log/x.log" -> "./x.log"
    ip = project.service_ip("db")
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
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from compose.errors import ComposeError

if TYPE_CHECKING:
    from compose import model
    from compose.loader.project import LoadOptions
    from compose.progress import Progress
    from compose.session import Session

T = TypeVar("T")
Source = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None
# Ports published on every address are reached on the loopback one.
_ANY = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


class Endpoint(NamedTuple):
    """Where a published port is reached from the host."""

    host: str
    port: int


class ExecResult(NamedTuple):
    """What a command run in a container gave: its exit code and its output (stdout and stderr)."""

    exit_code: int
    output: str


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


def _engine(host: str | None) -> str:
    """The engine to talk to: `host`, $DOCKER_HOST or the default one (started when absent)."""
    from compose.client.place import default_host
    from compose.engine_reach import ensure_engine

    host = host or os.environ.get("DOCKER_HOST") or default_host()
    ensure_engine(host)
    return host


def list_containers(host: str | None, filters: Mapping[str, list[str]]) -> list[dict[str, Any]]:
    """Container summaries (all states) matching `filters` (the Engine API's, e.g. {"label": ["a=b"]})."""
    from compose.client import EngineClient
    from compose.session import run_sync

    async def flow(client: EngineClient) -> list[dict[str, Any]]:
        return list(await (await client.get("/containers/json", {"all": True, "filters": dict(filters)})).json() or [])

    return run_sync(_engine(host), flow)


class Project:
    """A loaded compose project and the engine it runs on."""

    def __init__(self, model: model.Project, load_options: LoadOptions | None, host: str | None = None,
                 progress: str = "quiet") -> None:
        self.model = model
        self.load_options = load_options
        self.host = host
        self.progress = progress

    @classmethod
    def load(cls, source: Source = None, *, project_name: str | None = None, env: Mapping[str, str] | None = None,
             profiles: Sequence[str] = (), host: str | None = None, progress: str = "quiet",
             labels: Mapping[str, str] | None = None) -> Project:
        """From a compose file, a list of them, or a folder to search (None: the current one).

        `labels` are put on every container of the project, besides the files' own."""
        from dataclasses import replace

        from compose.loader.project import load_project

        options = _load_options(source, project_name, env, profiles)
        loaded = load_project(options).project
        if labels:
            services = {name: replace(svc, labels={**svc.labels, **labels}) for name, svc in loaded.services.items()}
            loaded = replace(loaded, services=services)
        return cls(loaded, options, host, progress)

    @classmethod
    def by_name(cls, name: str, host: str | None = None) -> Project:
        """A project known only by its name: `down` removes whatever carries its label."""
        from compose import model

        return cls(model.Project(name, Path.cwd(), (), (), {}, {}, {}, {}, {}), None, host)

    @property
    def name(self) -> str:
        return self.model.name

    def _call(self, func: Callable[[Session], Awaitable[T]]) -> T:
        """`func` on a session with the engine (the default one started first, as the CLI does)."""
        from compose.session import Session, run_sync

        return run_sync(_engine(self.host),
                        lambda client: func(Session(client, self.model, self.load_options, -1, self._display)))

    def _display(self, title: str) -> Progress:
        from compose.progress import make_progress

        return make_progress(self.progress, sys.stderr, "never", title)

    def up(self, wait: bool = True, services: Sequence[str] = (), *, wait_timeout: float | None = None,
           force_recreate: bool = False, remove_orphans: bool = False, timeout: int | None = None,
           build: bool = False) -> None:
        """Create and start the services (detached); with `wait`, until running or healthy; `build` rebuilds
        the images of services with a build section first (as `up --build`; missing ones are built anyway)."""
        from compose.plan import UpOptions

        options = UpOptions(services=tuple(services), wait=wait, wait_timeout=wait_timeout,
                            force_recreate=force_recreate, remove_orphans=remove_orphans, timeout=timeout)
        self._call(lambda session: session.converge(options, build="force" if build else "auto"))

    def down(self, volumes: bool = True, remove_orphans: bool = True, timeout: int | None = None) -> None:
        """Stop and remove containers and networks; with `volumes`, the project's volumes too."""
        from compose.plan import DownOptions, plan_down

        async def flow(session: Session) -> None:
            observed = await session.observe()
            plan = plan_down(self.model, observed, DownOptions(volumes=volumes, remove_orphans=remove_orphans,
                                                               timeout=timeout,
                                                               known_services=session.known_services(observed)))
            plan.warnings.clear()  # "nothing to remove" is no news to a fixture's teardown
            await session.execute(plan)

        self._call(flow)

    def ps(self, all: bool = True) -> list[dict[str, Any]]:
        """The project's container summaries (GET /containers/json), by name."""
        from compose import labels as L

        async def flow(session: Session) -> list[dict[str, Any]]:
            params = {"all": all, "filters": L.project_filter(self.name)}
            return list(await (await session.client.get("/containers/json", params)).json() or [])

        return sorted(self._call(flow), key=lambda c: str((c.get("Names") or [""])[0]))

    def port(self, service: str, private_port: int, protocol: str = "tcp", index: int = 1) -> Endpoint:
        """The (host, port) where replica `index` publishes `private_port` (any address -> loopback)."""

        async def flow(session: Session) -> list[dict[str, Any]]:
            container = await session.find_container(service, index)
            info = await (await session.client.get(f"/containers/{container.id}/json")).json() or {}
            ports = (info.get("NetworkSettings") or {}).get("Ports") or {}
            return list(ports.get(f"{private_port}/{protocol}") or [])

        bindings = self._call(flow)
        for binding in bindings:
            if binding.get("HostPort"):
                host = str(binding.get("HostIp") or "")
                return Endpoint(_ANY.get(host, host), int(binding["HostPort"]))
        raise ComposeError(f"service {service}: port {private_port}/{protocol} is not published")

    def exec(self, service: str, cmd: str | Sequence[str], *, index: int = 1, user: str | None = None,
             env: Mapping[str, str] | None = None, workdir: str | None = None) -> ExecResult:
        """Run `cmd` (a list, or a string split as a shell would) in a running replica: (exit code, output)."""
        from compose.exec_body import exec_body
        from compose.execs import exec_output

        command = tuple(shlex.split(cmd) if isinstance(cmd, str) else cmd)
        body = exec_body(command, tty=False, interactive=False, detach=False,
                         env=[f"{k}={v}" for k, v in (env or {}).items()], user=user, workdir=workdir,
                         privileged=False)

        async def flow(session: Session) -> ExecResult:
            container = await session.find_container(service, index)
            return ExecResult(*await exec_output(session.client, container.id, body))

        return self._call(flow)

    def logs(self, service: str | None = None, *, tail: str = "all", timestamps: bool = False) -> str:
        """The output so far: of one service without prefixes, or of all with `web-1  | ` prefixes."""
        from compose.logstream import LogOptions, LogPrinter, ProjectLogs

        out = io.BytesIO()
        printer = LogPrinter(out, color=False, prefix=service is None)

        async def flow(session: Session) -> None:
            services = frozenset([service]) if service else None
            await ProjectLogs(session.client, self.name, printer, LogOptions(tail=tail, timestamps=timestamps),
                              services=services).show()

        if service is not None and service not in self.model.services:
            raise ComposeError(f"no such service: {service}")
        self._call(flow)
        return out.getvalue().decode(errors="replace")

    def _inspect(self, service: str, index: int) -> dict[str, Any]:
        async def flow(session: Session) -> dict[str, Any]:
            container = await session.find_container(service, index)
            return dict(await (await session.client.get(f"/containers/{container.id}/json")).json() or {})

        return self._call(flow)

    def service_ip(self, service: str, network: str | None = None, index: int = 1) -> str:
        """The address of replica `index` on `network` (a key of the file's `networks:`, or the engine's name);
        without one, on the service's only network."""
        networks = (self._inspect(service, index).get("NetworkSettings") or {}).get("Networks") or {}
        if network is not None:
            names = [network, f"{self.name}_{network}"]
            if network in self.model.networks:
                names.insert(0, self.model.networks[network].name)
            found = next((networks[n] for n in names if n in networks), None)
            if found is None:
                raise ComposeError(f"service {service} is not on network {network}")
            chosen = [found]
        else:
            chosen = [n for n in networks.values() if n and n.get("IPAddress")]
            if len(chosen) > 1:
                raise ComposeError(f"service {service} is on {len(chosen)} networks: name one "
                                   f"({', '.join(sorted(networks))})")
        address = str((chosen[0] or {}).get("IPAddress") or "") if chosen else ""
        if not address:
            raise ComposeError(f"service {service} has no IP address (network_mode none or host?)")
        return address

    def wait_healthy(self, service: str | None = None, timeout: float = 60.0, interval: float = 0.1) -> None:
        """Until every running replica (of `service`, or of all services) is healthy, or running when it has
        no healthcheck; a replica that exits or turns unhealthy is an error at once, as is the timeout."""
        import time

        names = [service] if service is not None else sorted(self.model.services)
        for name in names:
            if name not in self.model.services:
                raise ComposeError(f"no such service: {name}")
        deadline = time.monotonic() + timeout
        while True:
            pending = []
            for summary in self.ps():
                labels = summary.get("Labels") or {}
                if labels.get("com.docker.compose.service") not in names or \
                        labels.get("com.docker.compose.oneoff") == "True":
                    continue
                state, status = str(summary.get("State")), str(summary.get("Status") or "")
                who = str((summary.get("Names") or ["?"])[0]).lstrip("/")
                if state != "running" or "(unhealthy)" in status:
                    raise ComposeError(f"container {who} is {'unhealthy' if state == 'running' else state}")
                if "(health: starting)" in status:
                    pending.append(who)
            if not pending:
                return
            if time.monotonic() > deadline:
                raise ComposeError(f"timeout: {', '.join(pending)} not healthy after {timeout:g}s")
            time.sleep(interval)

    def cp(self, source: str | os.PathLike[str], destination: str | os.PathLike[str], *, index: int = 1) -> None:
        """`docker compose cp`: `"svc:/path"` on one side, a host path on the other (files or folders)."""
        from compose.copying import copy_in, copy_out, parse_location

        src = parse_location(str(source)) if isinstance(source, str) else None
        dst = parse_location(str(destination)) if isinstance(destination, str) else None
        if (src is None) == (dst is None):
            raise ComposeError("copying between a container and the host: one side must be SERVICE:PATH")

        async def flow(session: Session) -> None:
            where = src or dst
            assert where is not None
            container = await session.find_container(where.service, index)
            if dst is not None:
                await copy_in(session.client, container.id, Path(source), dst.path)
            elif src is not None:
                await copy_out(session.client, container.id, src.path, Path(destination))

        self._call(flow)

    def __enter__(self) -> Project:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()
