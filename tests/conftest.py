"""Session-wide test harness: the root marker, the session's private engine, and the leak check.

The session engine has its own state root, socket and kernel-object prefix;
its processes (the daemon and the supervisor it forks, both started with
`--root <that root>`) are expected to outlive single modules, so the leak
check leaves exactly those alone. Everything else of ours that a module
leaves behind fails that module.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine_fixture import EngineHandle, start_private_engine
from tests.leaks import SESSION_VARIABLE, snapshot
from tests.registry_fixture import registry, registry_factory  # noqa: F401 - fixtures for every test

SESSION_ROOTS = pytest.StashKey[set[str]]()
CLI_DIR = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[SESSION_ROOTS] = set()
    os.environ.setdefault(SESSION_VARIABLE, uuid.uuid4().hex)
    # The command lines the tests run use a CLI server of this session's, ended with the session.
    if "PYCOMPOSE_CLI_DIR" not in os.environ:
        os.environ["PYCOMPOSE_CLI_DIR"] = tempfile.mkdtemp(prefix="pyc-cli-")
        config.stash[CLI_DIR] = os.environ["PYCOMPOSE_CLI_DIR"]


def pytest_unconfigure(config: pytest.Config) -> None:
    from compose.cli.warm import protocol
    from compose.cli.warm.server import stop_servers

    directory = config.stash.get(CLI_DIR, None)
    if directory is not None:
        stop_servers(directory)
        shutil.rmtree(directory, ignore_errors=True)
    # Tests that give a command line an environment made from scratch reach the default directory's server.
    saved = os.environ.pop(protocol.DIR_ENV, None)
    try:
        default = protocol.socket_dir()
    finally:
        if saved is not None:
            os.environ[protocol.DIR_ENV] = saved
    if default is not None:
        stop_servers(default)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root (real containers and kernel objects)")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module", autouse=True)
def leak_check(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test module must leave no link, netns, mount, cgroup or process of ours behind."""
    before = snapshot()
    yield
    roots = request.config.stash[SESSION_ROOTS]
    leaked = snapshot().minus(before)
    processes = [p for p in leaked.get("processes", []) if not any(root in p for root in roots)]
    if processes:
        leaked["processes"] = processes
    else:
        leaked.pop("processes", None)
    assert not leaked, f"kernel objects or processes left behind: {leaked}"


def _stop_supervisor(root: Path) -> None:
    """The supervisor outlives engine restarts by design; at session end it goes too."""
    try:
        pid = int((root / "supervisor.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[EngineHandle]:
    """The session's private engine (own root, socket and prefix)."""
    handle = start_private_engine(tmp_path_factory.mktemp("session-engine"))
    request.config.stash[SESSION_ROOTS].add(str(handle.root))
    try:
        yield handle
    finally:
        handle.stop()
        _stop_supervisor(handle.root)


@pytest.fixture(scope="session")
def busybox(engine: EngineHandle, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`busybox:latest` on the session engine, imported from Debian's busybox-static through the API."""
    import docker

    from tests.runtime.images.busybox import build_busybox_rootfs_tar

    tar = build_busybox_rootfs_tar(tmp_path_factory.mktemp("busybox") / "rootfs.tar")
    client = docker.DockerClient(base_url=engine.host)
    try:
        client.api.import_image(src=str(tar), repository="busybox", tag="latest",
                                changes=['CMD ["sh"]'])
    finally:
        client.close()
    return "busybox:latest"
