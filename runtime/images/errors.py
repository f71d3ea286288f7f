"""Errors of the image store, each an `EngineError` with Docker's status code (404, 409, 400; 500 otherwise)."""

from __future__ import annotations

from runtime.errors import DomainError


class ImageError(DomainError):
    """Base of every error the image store raises on purpose."""


class ImageNotFound(ImageError):
    """404: no image answers to the reference."""

    status = 404

    def __init__(self, ref: str) -> None:
        super().__init__(f"No such image: {ref}")
        self.ref = ref


class ImageConflict(ImageError):
    """409: the operation would break something (an image in use, a shared reference)."""

    status = 409


class ImageInvalid(ImageError):
    """400: bad input (reference, archive, --change, filter)."""

    status = 400


class LayerError(ImageInvalid):
    """A layer is malformed or unsafe to apply (it would write outside its snapshot)."""
