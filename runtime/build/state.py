"""What a stage carries from step to step, and what a step needs of the build around it."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.build.args import StageArgs
from runtime.build.cache import BuildCache
from runtime.build.copy_reuse import Traces
from runtime.build.messages import Message
from runtime.build.named import Named
from runtime.build.options import BuildOptions

if TYPE_CHECKING:
    from runtime.containers.manager import ContainerManager
    from runtime.images.store import ImageStore

DEFAULT_SHELL = ("/bin/sh", "-c")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

Emit = Callable[[Message], Coroutine[Any, Any, None]]


class BuildFailed(Exception):
    """A step failed: the stream's errorDetail (with the RUN's exit code as `code`)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class StageState:
    index: int
    image_id: str  # the stage's image so far; "" for `FROM scratch` before its first step
    config: dict[str, Any]  # Docker's container config: Env, Cmd, WorkingDir, …
    args: StageArgs
    escape: str = "\\"
    author: str = ""
    cmd_set: bool = False  # a CMD came earlier in this stage (ENTRYPOINT then keeps it)
    layers: list[Path] = field(default_factory=list)  # the image's snapshot dirs, lowest first

    @property
    def shell(self) -> list[str]:
        return list(self.config.get("Shell") or DEFAULT_SHELL)

    def env(self) -> dict[str, str]:
        """The variables a builder-expanded word sees at this step."""
        return self.args.expansion_env(self.config.get("Env") or ())


@dataclass
class Build:
    """One build's surroundings, shared by its stages."""

    root: Path  # the engine's state root
    images: ImageStore
    containers: ContainerManager | None
    options: BuildOptions
    cache: BuildCache
    context: Path  # the unpacked context
    work: Path  # the build's private directory
    platform: str
    stage_images: dict[int, str] = field(default_factory=dict)  # built stages
    stage_names: Mapping[str, int] = field(default_factory=dict)
    cache_sources: frozenset[str] | None = None  # --cache-from: the images a hit must come from
    cache_from: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # --cache-from: (ID, config)
    named: Mapping[str, Named] = field(default_factory=dict)  # named contexts by (lowercase) name
    traces: Traces = field(default_factory=Traces)  # the engine's last COPY tars (copy_reuse.py)
