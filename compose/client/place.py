"""Where the engine lives: its default socket and state root, and the one reading of a host.

The CLI that starts the engine (cli/engine.py), the CLI that reaches it
(compose/engine_reach.py, cli/fastpath.py) and the clients all take these from
here. Light on purpose: the CLI's fast path imports it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from compose.client.errors import EngineConnectionError

if TYPE_CHECKING:
    from pathlib import Path

DEFAULT_HOST = "unix:///run/pycompose/engine.sock"
# Moves the default socket (tests use it to exercise the auto-start without
# touching /run/pycompose); DOCKER_HOST still wins over it.
DEFAULT_HOST_ENV = "PYCOMPOSE_DEFAULT_HOST"
DEFAULT_ROOT = "/var/lib/pycompose"
ROOT_ENV = "PYCOMPOSE_ENGINE_ROOT"
PIDFILE = "engine.pid"
LOGFILE = "engine.log"
START_LOCK = "engine.start.lock"


def default_host() -> str:
    """The engine's default socket: $PYCOMPOSE_DEFAULT_HOST, else /run/pycompose/engine.sock."""
    return os.environ.get(DEFAULT_HOST_ENV) or DEFAULT_HOST


def default_root() -> Path:
    """The default engine's state root: $PYCOMPOSE_ENGINE_ROOT, else /var/lib/pycompose."""
    from pathlib import Path

    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT).absolute()


def socket_path(host: str) -> str:
    """`unix:///run/x.sock` (or a bare absolute path) -> `/run/x.sock`; anything else is refused."""
    path = host[len("unix://") :] if host.startswith("unix://") else host
    if not path.startswith("/"):
        raise EngineConnectionError(f"unsupported engine host {host!r}: only unix:// sockets are supported")
    return path


def context_active() -> bool:
    """Whether $DOCKER_CONTEXT or config.json's `currentContext` may name the engine: a cheap look
    before reading the docker contexts (compose/client/contexts.py) on the CLI's fast paths."""
    if os.environ.get("DOCKER_CONTEXT"):
        return True
    folder = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    try:
        with open(os.path.join(folder, "config.json"), "rb") as config:
            return b'"currentContext"' in config.read()
    except OSError:
        return False
