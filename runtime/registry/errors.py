"""Registry errors: each an `EngineError` with the HTTP status dockerd answers with, and one clear line."""

from __future__ import annotations

from runtime.errors import DomainError


class RegistryError(DomainError):
    """A registry operation failed; `status` is the Engine API status dockerd uses."""

    status = 500


class Unauthorized(RegistryError):
    status = 401


class NotFound(RegistryError):
    status = 404


class Unreachable(RegistryError):
    status = 500


class InvalidContent(RegistryError):
    """What the registry sent is not what was asked for (digest, size, media type)."""

    status = 500
