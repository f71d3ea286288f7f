"""Fixtures for kernel tests: a prefix per test, netns, links and the nft table removed afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runtime.network import nat
from runtime.network.bridge import Links
from tests.runtime.network.kernel import BUSYBOX, Netns, random_prefix


@pytest.fixture
def prefix() -> str:
    return random_prefix()


@pytest.fixture
def make_netns() -> Iterator[Callable[[], Netns]]:
    if not Path(BUSYBOX).exists():
        pytest.skip("Debian's busybox-static (/bin/busybox) is not installed")
    made: list[Netns] = []

    def make() -> Netns:
        ns = Netns()
        made.append(ns)
        return ns

    yield make
    for ns in made:
        ns.close()


@pytest.fixture
def links(prefix: str) -> Iterator[Links]:
    with Links() as handle:
        try:
            yield handle
        finally:
            handle.remove_stale(prefix, keep=())


@pytest.fixture
def nft_cleanup(prefix: str) -> Iterator[None]:
    yield
    nat.cleanup(prefix)


@pytest.fixture
def ip_forward() -> Iterator[None]:
    """Routing between bridges, as the engine turns it on; the old value comes back afterwards."""
    path = Path("/proc/sys/net/ipv4/ip_forward")
    old = path.read_text().strip()
    path.write_text("1")
    yield
    path.write_text(old)
