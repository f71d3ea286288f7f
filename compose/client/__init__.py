"""The Engine API client (Docker's API over a UNIX socket).

The anyio client (client.py, connection.py: anyio and h11, ~25 ms to
import) loads on first use of its names, so the error types, the wire
helpers and the blocking client of the CLI's simple paths stay light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from compose.client.errors import EngineConnectionError, EngineError
from compose.client.place import DEFAULT_HOST, socket_path
from compose.client.wire import API_VERSION

if TYPE_CHECKING:
    from compose.client.client import EngineClient, Response, ping_sync, run_sync
    from compose.client.connection import RawStream

_LAZY = {
    "EngineClient": "compose.client.client",
    "Response": "compose.client.client",
    "ping_sync": "compose.client.client",
    "run_sync": "compose.client.client",
    "RawStream": "compose.client.connection",
}

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
