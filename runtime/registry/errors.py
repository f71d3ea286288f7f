"""Registry errors: each carries the HTTP status dockerd answers with, and one clear line."""

from __future__ import annotations


class RegistryError(Exception):
    """A registry operation failed; `status` is the Engine API status dockerd uses."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthorized(RegistryError):
    status = 401


class NotFound(RegistryError):
    status = 404


class Unreachable(RegistryError):
    status = 500


class InvalidContent(RegistryError):
    """What the registry sent is not what was asked for (digest, size, media type)."""

    status = 500
