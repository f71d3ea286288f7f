"""Errors as the API sends them: Docker's JSON body `{"message": "..."}`.

The error type itself lives at the bottom of the engine (`runtime/errors.py`),
so that every domain may raise it; the API only renders it.
"""

from __future__ import annotations

import json

from runtime.errors import EngineError, bad_request, conflict, not_found, not_implemented

__all__ = ["EngineError", "bad_request", "conflict", "error_body", "not_found", "not_implemented"]


def error_body(message: str) -> bytes:
    """The JSON body Docker sends for an error."""
    return json.dumps({"message": message}, separators=(",", ":")).encode() + b"\n"
