"""Session-wide test harness: root marker and the leak check after every module."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.leaks import snapshot


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root (real containers and kernel objects)")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module", autouse=True)
def leak_check() -> Iterator[None]:
    """A test module must leave no link, netns, mount, cgroup or process of ours behind."""
    before = snapshot()
    yield
    leaked = snapshot().minus(before)
    assert not leaked, f"kernel objects or processes left behind: {leaked}"
