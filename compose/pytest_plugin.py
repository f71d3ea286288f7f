"""pytest plugin (entry point `pytest11`): compose stacks as fixtures.

    def test_api(compose_project):
        stack = compose_project("tests/stack")  # up, waiting for running/healthy
        host, port = stack.port("web", 80)
        assert stack.exec("db", "pg_isready")[0] == 0

`compose_project` is a factory; every stack it brought up is taken down
(with its volumes) when the test ends, even if its `up` failed half-way.
`compose_project_session` does the same once per session. `--compose-keep`
leaves the stacks running for a look after the run; `--compose-host` points
at another engine than $DOCKER_HOST or the default one.

pytest-docker's fixtures (`docker_services`, `docker_compose_file`…) come
from compose/pytest_docker.py when pytest-docker itself is not loaded (not
installed, or `-p no:docker`), so suites written for it run unchanged.
Stacks carry the suite's labels: the first stack of a session takes down
those a crashed session of the same suite left (compose/pytest_reap.py).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator, Mapping, Sequence

import pytest

from compose.api import Project, Source
from compose.pytest_reap import engine_host, stack_labels


class ProjectFactory:
    """Loads and brings up projects; `close()` takes them down, newest first."""

    def __init__(self, keep: bool = False, host: str | None = None, config: pytest.Config | None = None) -> None:
        self.keep = keep
        self.host = host
        self.config = config
        self.projects: list[Project] = []

    def __call__(self, source: Source = None, *, project_name: str | None = None,
                 env: Mapping[str, str] | None = None, profiles: Sequence[str] = (), services: Sequence[str] = (),
                 wait: bool = True, wait_timeout: float | None = None, up: bool = True) -> Project:
        labels = stack_labels(self.config) if self.config is not None else None
        project = Project.load(source, project_name=project_name, env=env, profiles=profiles, host=self.host,
                               labels=labels)
        self.projects.append(project)  # before up: a stack that came up half-way still goes down
        if up:
            project.up(wait=wait, services=services, wait_timeout=wait_timeout)
        return project

    def close(self) -> None:
        if self.keep:
            return
        errors = []
        while self.projects:
            project = self.projects.pop()
            try:
                project.down(volumes=True, remove_orphans=True)
            except Exception as exc:  # take the others down all the same
                errors.append(exc)
        if errors:
            raise errors[0]


def _pytest_docker_coming(pluginmanager: pytest.PytestPluginManager) -> bool:
    """Whether pytest-docker itself is (or will be) loaded: installed, and not blocked by `-p no:docker`."""
    if pluginmanager.has_plugin("docker"):
        return True
    if pluginmanager.is_blocked("docker") or os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return False
    return importlib.util.find_spec("pytest_docker") is not None


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    if not _pytest_docker_coming(pluginmanager):
        from compose import pytest_docker

        pluginmanager.register(pytest_docker, "pycompose.docker")  # its options are added now (a historic hook)
    group = parser.getgroup("pycompose", "compose stacks as fixtures")
    group.addoption("--compose-keep", action="store_true", default=False,
                    help="leave the stacks of compose_project fixtures running after the tests")
    group.addoption("--compose-host", default=None, metavar="unix:///PATH",
                    help="engine for compose_project fixtures (default: $DOCKER_HOST or the default engine)")


def _factory(config: pytest.Config) -> ProjectFactory:
    return ProjectFactory(bool(config.getoption("--compose-keep", default=False)), engine_host(config), config)


@pytest.fixture
def compose_project(request: pytest.FixtureRequest) -> Iterator[ProjectFactory]:
    """A factory of stacks that live as long as the test."""
    factory = _factory(request.config)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(scope="session")
def compose_project_session(request: pytest.FixtureRequest) -> Iterator[ProjectFactory]:
    """A factory of stacks that live as long as the test session."""
    factory = _factory(request.config)
    try:
        yield factory
    finally:
        factory.close()
