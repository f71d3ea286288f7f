"""The `com.docker.compose.*` labels and object names existing tools expect.

Docker Compose finds its objects again by these labels alone, so
`docker compose ps` works on what pycompose created and the other way round.
"""

from __future__ import annotations

PREFIX = "com.docker.compose."
PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"
NUMBER = "com.docker.compose.container-number"
CONFIG_HASH = "com.docker.compose.config-hash"
ONEOFF = "com.docker.compose.oneoff"
DEPENDS_ON = "com.docker.compose.depends_on"
WORKING_DIR = "com.docker.compose.project.working_dir"
CONFIG_FILES = "com.docker.compose.project.config_files"
ENVIRONMENT_FILE = "com.docker.compose.project.environment_file"
VERSION = "com.docker.compose.version"
IMAGE = "com.docker.compose.image"
REPLACE = "com.docker.compose.replace"
SLUG = "com.docker.compose.slug"
NETWORK = "com.docker.compose.network"
VOLUME = "com.docker.compose.volume"

# What `com.docker.compose.version` says: the compose-spec behaviour we follow.
COMPOSE_VERSION = "2.29.0"


def container_name(project: str, service: str, number: int, custom: str | None = None) -> str:
    """`<project>-<service>-<n>`, unless the service sets `container_name`."""
    return custom or f"{project}-{service}-{number}"


def oneoff_name(project: str, service: str, slug: str) -> str:
    """A `run` container: `<project>-<service>-run-<first 12 hex of the slug>`."""
    return f"{project}-{service}-run-{slug[:12]}"


def project_filter(project: str) -> dict[str, list[str]]:
    """The `filters` query that lists a project's containers, networks or volumes."""
    return {"label": [f"{PROJECT}={project}"]}
