"""Images: OCI formats, layer apply into shared snapshots, archives, and the store facade."""

from runtime.images.errors import ImageConflict, ImageError, ImageInvalid, ImageNotFound, LayerError
from runtime.images.store import ImageStore

__all__ = ["ImageConflict", "ImageError", "ImageInvalid", "ImageNotFound", "ImageStore", "LayerError"]
