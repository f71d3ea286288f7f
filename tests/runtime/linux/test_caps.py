"""Capabilities: Docker's add/drop rules (pure) and the sets a child really holds after `apply` (root)."""

from __future__ import annotations

import os
from collections.abc import Iterable

import pytest

from runtime.linux import caps
from tests.runtime.linux.forkrun import fork_exec, proc_status, run_forked

DEFAULT = set(caps.DOCKER_DEFAULT)


def test_all_caps_follow_the_kernel() -> None:
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    assert max(caps.ALL_CAPS.values()) == last
    assert caps.ALL_CAPS["CAP_CHOWN"] == 0
    assert caps.ALL_CAPS["CAP_SYS_ADMIN"] == 21
    assert len(caps.DOCKER_DEFAULT) == 14 and set(caps.ALL_CAPS) >= DEFAULT


@pytest.mark.parametrize(
    ("add", "drop", "privileged", "expected"),
    [
        ((), (), False, DEFAULT),
        (("NET_ADMIN",), (), False, DEFAULT | {"CAP_NET_ADMIN"}),
        (("cap_net_admin", "net_admin"), (), False, DEFAULT | {"CAP_NET_ADMIN"}),
        ((), ("chown", "CAP_KILL"), False, DEFAULT - {"CAP_CHOWN", "CAP_KILL"}),
        (("SYS_PTRACE",), ("ALL",), False, {"CAP_SYS_PTRACE"}),
        ((), ("all",), False, set()),
        (("ALL",), ("NET_RAW",), False, set(caps.ALL_CAPS) - {"CAP_NET_RAW"}),
        (("ALL",), ("ALL",), False, set(caps.ALL_CAPS)),  # add "ALL" is checked first
        (("ALL",), (), False, set(caps.ALL_CAPS)),
        (("NET_ADMIN",), ("KILL",), True, set(caps.ALL_CAPS)),
        (("KILL",), ("KILL",), False, DEFAULT),  # add wins: drop first, then add
    ],
)
def test_resolve_follows_docker(add: tuple[str, ...], drop: tuple[str, ...], privileged: bool,
                                expected: set[str]) -> None:
    got = caps.resolve(add, drop, privileged)
    assert set(got) == expected
    assert list(got) == sorted(got, key=caps.ALL_CAPS.__getitem__)  # kernel order, no duplicates


def test_resolve_all_in_both_adds_every_cap() -> None:
    # Docker: "ALL" in cap_add is checked first; the drop list then removes named caps only.
    assert set(caps.resolve(["ALL"], ["ALL", "SYS_ADMIN"], False)) == set(caps.ALL_CAPS) - {"CAP_SYS_ADMIN"}


@pytest.mark.parametrize("bad", ["CAP_FLY", "fly", "", "CAP_"])
def test_unknown_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="unknown capability"):
        caps.resolve([bad], [], False)
    with pytest.raises(ValueError, match="unknown capability"):
        caps.resolve([], [bad], True)  # validated even when privileged ignores the lists


def test_effective_mask_matches_proc_status_bits() -> None:
    assert caps.effective_mask(["CAP_CHOWN", "CAP_KILL"]) == 0b100001
    assert caps.effective_mask(caps.ALL_CAPS) == (1 << (max(caps.ALL_CAPS.values()) + 1)) - 1


def _status_masks() -> dict[str, int]:
    status = proc_status()
    return {k: int(status[k], 16) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}


def _held(names: Iterable[str] = caps.DOCKER_DEFAULT) -> int:
    """The mask a child can get for `names`: caps this host does not grant are left out."""
    return caps.effective_mask(names) & caps.effective_mask(caps.available())


def _applied(names: tuple[str, ...]) -> dict[str, int]:
    caps.apply(names)
    return _status_masks()


def _exec_status(uid: int | None, keep_ambient: bool) -> dict[str, int]:
    def prepare() -> None:
        if uid is not None:
            caps.keep_across_setuid()
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        caps.apply(caps.DOCKER_DEFAULT, keep_ambient=keep_ambient)

    status, out = fork_exec(prepare, ["/bin/busybox", "grep", "^Cap", "/proc/self/status"])
    assert status == 0, out
    return {line.split(":")[0]: int(line.split()[1], 16) for line in out.splitlines()}


@pytest.mark.root
def test_apply_in_a_child_sets_every_set() -> None:
    got = run_forked(lambda: _applied(caps.DOCKER_DEFAULT))
    want = _held()
    assert got == {"CapInh": 0, "CapPrm": want, "CapEff": want, "CapBnd": want, "CapAmb": 0}


@pytest.mark.root
def test_apply_leaves_out_caps_the_host_does_not_grant() -> None:
    got = run_forked(lambda: _applied(tuple(caps.ALL_CAPS)))
    assert got["CapEff"] == got["CapBnd"] == caps.effective_mask(caps.available())


@pytest.mark.root
@pytest.mark.skipif(not os.path.exists("/bin/busybox"), reason="needs /bin/busybox")
def test_root_keeps_the_set_through_exec() -> None:
    masks = _exec_status(uid=None, keep_ambient=False)
    assert masks["CapEff"] == masks["CapBnd"] == _held()


@pytest.mark.root
@pytest.mark.skipif(not os.path.exists("/bin/busybox"), reason="needs /bin/busybox")
def test_non_root_user_gets_only_the_bounding_set_like_docker() -> None:
    masks = _exec_status(uid=1000, keep_ambient=False)
    assert masks["CapEff"] == masks["CapPrm"] == masks["CapAmb"] == 0
    assert masks["CapBnd"] == _held()


@pytest.mark.root
@pytest.mark.skipif(not os.path.exists("/bin/busybox"), reason="needs /bin/busybox")
def test_keep_ambient_gives_a_non_root_user_the_caps() -> None:
    masks = _exec_status(uid=1000, keep_ambient=True)
    assert masks["CapEff"] == masks["CapAmb"] == masks["CapBnd"] == _held()
