"""An engine of the module's own (with busybox) for the build tests: it stops, cgroups and all,
when the module ends, so the leak check sees nothing of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.compose.cli.engines import busybox_engine
from tests.engine_fixture import EngineHandle


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineHandle]:
    with busybox_engine(tmp_path_factory.mktemp("build-engine")) as (handle, _rootfs):
        yield handle


@pytest.fixture(scope="module")
def busybox(engine: EngineHandle) -> str:
    return "busybox:latest"
