"""Errors of the image store; the API maps them to Docker's status codes (404, 409, 400)."""

from __future__ import annotations


class ImageError(Exception):
    """Base of every error the image store raises on purpose."""


class ImageNotFound(ImageError):
    """404: no image answers to the reference."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"No such image: {ref}")
        self.ref = ref


class ImageConflict(ImageError):
    """409: the operation would break something (an image in use, a shared reference)."""


class ImageInvalid(ImageError):
    """400: bad input (reference, archive, --change, filter)."""


class LayerError(ImageInvalid):
    """A layer is malformed or unsafe to apply (it would write outside its snapshot)."""
