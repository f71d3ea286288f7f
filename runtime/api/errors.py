"""The API layer's error type: a Docker status code and a message.

Docker answers every failure with `{"message": "..."}` and a status code that
says whose fault it was (400 bad parameter, 404 no such object, 409 conflict,
500 engine failure, 501 not implemented); clients such as the docker CLI print
the message as is.
"""

from __future__ import annotations

import json


class EngineError(Exception):
    """A failure to report to the API client with a Docker status code."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> bytes:
        """The JSON body Docker sends for an error."""
        return error_body(self.message)


def error_body(message: str) -> bytes:
    return json.dumps({"message": message}, separators=(",", ":")).encode() + b"\n"


def bad_request(message: str) -> EngineError:
    return EngineError(400, message)


def not_found(message: str) -> EngineError:
    return EngineError(404, message)


def conflict(message: str) -> EngineError:
    return EngineError(409, message)


def not_implemented(message: str) -> EngineError:
    return EngineError(501, message)
