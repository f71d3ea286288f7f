"""What both Engine API clients (anyio and blocking) say on the wire: version, query, errors.

Light on purpose (no anyio, no h11): the CLI's blocking paths import it.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

API_VERSION = "1.45"
USER_AGENT = "pycompose-client"

Params = Mapping[str, Any]


def encode_params(params: Params | None) -> str:
    """Docker's query encoding; None values are left out."""
    items: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            items.append((key, "1" if value else "0"))
        elif isinstance(value, list | tuple):
            items.extend((key, str(v)) for v in value)
        elif isinstance(value, Mapping):
            items.append((key, jsonlib.dumps(value, separators=(",", ":"))))
        else:
            items.append((key, str(value)))
    return urlencode(items, quote_via=quote)


def target(api_version: str, path: str, params: Params | None = None, versioned: bool = True) -> str:
    """The request target: the versioned, quoted path and its query."""
    prefix = f"/v{api_version}" if versioned else ""
    query = encode_params(params)
    return quote(prefix + path, safe="/:@!$&'()*+,;=-._~") + (f"?{query}" if query else "")


def error_message(status: int, data: bytes) -> str:
    """The message of a Docker error body (`{"message": ...}`), or its text."""
    try:
        message = jsonlib.loads(data).get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message) if message else (data.decode(errors="replace").strip() or f"HTTP {status}")
