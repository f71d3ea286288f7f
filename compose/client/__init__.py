"""The Engine API client (Docker's API over a UNIX socket)."""

from compose.client.client import (
    API_VERSION,
    DEFAULT_HOST,
    EngineClient,
    Response,
    ping_sync,
    run_sync,
    socket_path,
)
from compose.client.connection import RawStream
from compose.client.errors import EngineConnectionError, EngineError

__all__ = [
    "API_VERSION",
    "DEFAULT_HOST",
    "EngineClient",
    "EngineConnectionError",
    "EngineError",
    "RawStream",
    "Response",
    "ping_sync",
    "run_sync",
    "socket_path",
]
