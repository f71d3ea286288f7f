"""The engine's error type: a Docker status code and a message, at the bottom of `runtime/`.

Docker answers every failure with `{"message": "..."}` and a status code that
says whose fault it was (400 bad parameter, 404 no such object, 409 conflict,
500 engine failure, 501 not implemented); clients such as the docker CLI print
the message as is. Every layer raises these: the domains' own errors
(`ImageError`, `NetworkError`, `RegistryError`, `VolumeError`) subclass
`EngineError` with their status, so the API renders them all in one place
(`runtime/api/http.py`).
"""

from __future__ import annotations


class EngineError(Exception):
    """A failure to report to the API client with a Docker status code."""

    status: int

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class DomainError(EngineError):
    """An error whose class says its status: a subclass sets `status`, its raiser gives the message."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(type(self).status, message)


def bad_request(message: str) -> EngineError:
    return EngineError(400, message)


def not_found(message: str) -> EngineError:
    return EngineError(404, message)


def conflict(message: str) -> EngineError:
    return EngineError(409, message)


def not_implemented(message: str) -> EngineError:
    return EngineError(501, message)
