"""ulimits: validation, setrlimit in a child, clamping to the hard limit the kernel allows."""

from __future__ import annotations

import resource

import pytest

from runtime.linux import rlimits
from runtime.spec import Rlimit
from tests.runtime.linux.forkrun import run_forked


@pytest.mark.parametrize(("name", "soft", "hard"), [("nofile", 1024, 4096), ("NOFILE", 1, 1), ("core", -1, -1),
                                                    ("RLIMIT_NPROC", 10, -1), ("locks", 0, 5), ("as", 1 << 30, -1)])
def test_valid_limits(name: str, soft: int, hard: int) -> None:
    rlimits.validate(name, soft, hard)


@pytest.mark.parametrize(("name", "soft", "hard", "message"), [
    ("nofiles", 1, 2, "unknown ulimit"),
    ("", 1, 2, "unknown ulimit"),
    ("nofile", 10, 5, "greater than hard"),
    ("core", -1, 100, "greater than hard"),  # -1 is unlimited
])
def test_invalid_limits(name: str, soft: int, hard: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rlimits.validate(name, soft, hard)


def test_apply_sets_limits_in_a_child() -> None:
    def child() -> list[tuple[int, int]]:
        rlimits.apply([Rlimit("nofile", 256, 512), Rlimit("core", 0, -1), Rlimit("nproc", 4000, 5000)])
        return [resource.getrlimit(r) for r in (resource.RLIMIT_NOFILE, resource.RLIMIT_CORE, resource.RLIMIT_NPROC)]

    assert run_forked(child) == [[256, 512], [0, resource.RLIM_INFINITY], [4000, 5000]]


def test_a_hard_limit_the_kernel_refuses_is_clamped() -> None:
    # Above fs.nr_open: refused even with CAP_SYS_RESOURCE, so this clamps on any machine.
    def child() -> tuple[int, int, int]:
        before = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        rlimits.apply([Rlimit("nofile", 1 << 40, 1 << 40)])
        return (before, *resource.getrlimit(resource.RLIMIT_NOFILE))

    before, soft, hard = run_forked(child)
    assert soft == hard == before


def test_apply_refuses_unknown_names_before_touching_anything() -> None:
    def child() -> int:
        with pytest.raises(ValueError):
            rlimits.apply([Rlimit("bogus", 1, 1)])
        return 0

    assert run_forked(child) == 0
