"""Volumes: the local driver (directories and mounted devices under the engine root)."""

from runtime.volumes.errors import VolumeError, VolumeFailure, VolumeInUse, VolumeInvalid, VolumeNotFound
from runtime.volumes.local import ANONYMOUS_LABEL, VolumeStore

__all__ = [
    "ANONYMOUS_LABEL",
    "VolumeError",
    "VolumeFailure",
    "VolumeInUse",
    "VolumeInvalid",
    "VolumeNotFound",
    "VolumeStore",
]
