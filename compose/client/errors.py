"""What the Engine API client raises: the engine's status code and message.

Separate from the engine's own error type on purpose: compose reaches the
engine only over the API and never imports runtime.
"""

from __future__ import annotations

from compose.error_base import ComposeError


class EngineError(ComposeError):
    """The engine answered with an error (`{"message": ...}` and a status)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return self.message


class EngineConnectionError(EngineError):
    """The engine could not be reached at all (status 0: no HTTP answer)."""

    def __init__(self, message: str) -> None:
        super().__init__(0, message)
