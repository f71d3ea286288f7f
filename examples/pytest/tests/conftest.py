"""A suite written for pytest-docker: the stack file and the compose command are the suite's choice."""

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def docker_compose_file() -> str:
    return str(Path(__file__).parent / "docker-compose.yml")


@pytest.fixture(scope="session")
def docker_compose_command() -> str:
    # pycompose, not `docker compose` (the plugin of ours ignores this and runs the stack in process)
    return os.environ.get("COMPOSE_COMMAND", "pycompose")
