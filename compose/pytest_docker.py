"""pytest-docker's fixture contract on our engine, for suites written for pytest-docker (3.x).

Registered by compose/pytest_plugin.py only when pytest-docker itself will
not be loaded (not installed, or `-p no:docker`): the same fixture names,
defaults and scopes (`--container-scope`, session by default), so such a
suite runs unchanged. The stack is brought up and down through the Python
API in this process; `docker_setup`/`docker_cleanup` commands other than
`up`/`down` with their usual flags run our CLI, as pytest-docker would.
Containers carry the suite's labels, so a crashed session's stack is taken
down by the next one (compose/pytest_reap.py).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
import timeit
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from compose.api import Project

Commands = str | Sequence[str]


def containers_scope(fixture_name: str, config: pytest.Config) -> Any:
    return config.getoption("--container-scope", "session")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("docker")
    group.addoption("--container-scope", type=str, action="store", default="session",
                    help="The pytest fixture scope for reusing containers between tests (pytest-docker's option).")


def cli_command() -> str:
    """Our CLI as a shell command: the `pycompose` beside this interpreter, else the one on PATH."""
    beside = Path(sys.executable).parent / "pycompose"
    return shlex.quote(str(beside)) if beside.exists() else "pycompose"


def _files(value: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    return [str(value)] if isinstance(value, str | os.PathLike) else [str(v) for v in value]


class Executor:
    """`<cli> -f FILE… -p NAME <subcommand>`, as pytest-docker's DockerComposeExecutor runs it."""

    def __init__(self, command: str, files: list[str], project_name: str) -> None:
        self.command, self.files, self.project_name = command, files, project_name

    def execute(self, subcommand: str, success_codes: Sequence[int] = (0,), ignore_stderr: bool = False) -> bytes:
        line = self.command + "".join(f" -f {shlex.quote(f)}" for f in self.files)
        line += f" -p {shlex.quote(self.project_name)} {subcommand}"
        result = subprocess.run(line, shell=True, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL if ignore_stderr else subprocess.STDOUT, check=False)
        if result.returncode not in success_codes:
            raise Exception(f'Command {line} returned {result.returncode}: """{result.stdout.decode()}""".')
        return result.stdout


class Services:
    """What `docker_services` is: `port_for`, `wait_until_responsive`, and the project itself."""

    def __init__(self, project: Project, executor: Executor) -> None:
        self.project = project
        self._docker_compose = executor
        self._ports: dict[tuple[str, int], int] = {}

    def port_for(self, service: str, container_port: int) -> int:
        """The host port `service` publishes `container_port` on."""
        from compose.errors import ComposeError

        key = (service, container_port)
        if key not in self._ports:
            try:
                self._ports[key] = self.project.port(service, container_port).port
            except ComposeError:
                raise ValueError(f'Could not detect port for "{service}:{container_port}".') from None
        return self._ports[key]

    def wait_until_responsive(self, check: Callable[[], Any], timeout: float, pause: float,
                              clock: Callable[[], float] = timeit.default_timer) -> None:
        ref = clock()
        while clock() - ref < timeout:
            if check():
                return
            time.sleep(pause)
        raise Exception("Timeout reached while waiting on service!")


_UP = {"-d", "--detach", "--build", "--wait", "--remove-orphans", "--force-recreate", "--quiet-pull"}
_DOWN = {"-v", "--volumes", "--remove-orphans"}


def run_command(project: Project, executor: Executor, command: str) -> None:
    """One `docker_setup`/`docker_cleanup` entry: `up`/`down` with the usual flags in process, else the CLI."""
    words = shlex.split(command)
    timeout = None
    if words[:1] == ["up"] and len(words) >= 2 and words[-2] == "--wait-timeout" and words[-1].isdigit():
        timeout, words = float(words[-1]), words[:-2]
    if words[:1] == ["up"] and set(words[1:]) <= _UP:
        project.up(wait="--wait" in words, wait_timeout=timeout, remove_orphans="--remove-orphans" in words,
                   force_recreate="--force-recreate" in words, build="--build" in words)
    elif words[:1] == ["down"] and set(words[1:]) <= _DOWN:
        project.down(volumes=bool({"-v", "--volumes"} & set(words)), remove_orphans="--remove-orphans" in words)
    else:
        executor.execute(command)


def _commands(value: Commands) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)


def docker_ip_for(docker_host: str) -> str:
    """pytest-docker's rule: loopback for a UNIX socket, else the host's address."""
    docker_host = docker_host.strip()
    if not docker_host or docker_host.startswith("unix://"):
        return "127.0.0.1"
    return re.sub(r"^[^:]+://(.+):\d+$", r"\1", docker_host)


@pytest.fixture(scope=containers_scope)
def docker_ip() -> str:
    return docker_ip_for(os.environ.get("DOCKER_HOST", ""))


@pytest.fixture(scope=containers_scope)
def docker_compose_command() -> str:
    return cli_command()


@pytest.fixture(scope=containers_scope)
def docker_compose_file(pytestconfig: pytest.Config) -> str | list[str]:
    return os.path.join(str(pytestconfig.rootpath), "tests", "docker-compose.yml")


@pytest.fixture(scope=containers_scope)
def docker_compose_project_name() -> str:
    return f"pytest{os.getpid()}"


@pytest.fixture(scope=containers_scope)
def docker_cleanup() -> Commands:
    return ["down -v"]


@pytest.fixture(scope=containers_scope)
def docker_setup() -> Commands:
    return ["up --build --wait"]


@pytest.fixture(scope=containers_scope)
def docker_services(request: pytest.FixtureRequest, docker_compose_command: str,
                    docker_compose_file: str | list[str], docker_compose_project_name: str,
                    docker_setup: Commands, docker_cleanup: Commands) -> Iterator[Services]:
    """The stack of `docker_compose_file` up (`docker_setup`) for the scope, then down (`docker_cleanup`)."""
    from compose.pytest_reap import engine_host, stack_labels

    files = _files(docker_compose_file)
    project = Project.load(files, project_name=docker_compose_project_name, host=engine_host(request.config),
                           labels=stack_labels(request.config))
    executor = Executor(docker_compose_command, files, docker_compose_project_name)
    try:
        for command in _commands(docker_setup):
            run_command(project, executor, command)
        yield Services(project, executor)
    finally:
        for command in _commands(docker_cleanup):
            run_command(project, executor, command)
