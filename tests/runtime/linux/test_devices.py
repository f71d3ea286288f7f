"""The device policy: Docker's rules and messages (pure), the v1 arithmetic, and both kernel modes for real.

The real tests put a forked process in a cgroup made with the policy, through
the v1 devices controller ("v1") and through a BPF program on the v2 leaf
("bpf": it attaches to the unified hierarchy on a hybrid machine too), and
mknod + open host devices from there.
"""

from __future__ import annotations

import os
import secrets
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.linux import bpf_devices, devices
from runtime.linux.cgroups import Cgroup
from runtime.spec import DeviceRule, Resources
from tests.runtime.linux.device_probe import KMSG, NULL, TTY0, Probe, host_block_device, mounts_for
from tests.runtime.linux.forkrun import run_forked

MODES = ["v1", "bpf"]


# -- rules and messages (pure) ----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "rule"), [
    ("c 1:11 rwm", DeviceRule(True, "c", 1, 11, "rwm")),
    ("b *:* r", DeviceRule(True, "b", -1, -1, "r")),
    ("c 189:* mw", DeviceRule(True, "c", 189, -1, "wm")),
    ("a", DeviceRule(True, "a", -1, -1, "rwm")),
    ("a *:* rwm", DeviceRule(True, "a", -1, -1, "rwm")),
])  # fmt: skip
def test_parse_rule(text: str, rule: DeviceRule) -> None:
    assert devices.parse_rule(text) == rule


@pytest.mark.parametrize("text", ["", "c 1:1  rwm", " c 1:1 rwm", "c 1:1 rwm ", "x 1:1 rwm", "c 1 rwm", "c 1:1 rwx",
                                  "c 1:1 rwmr", "c a:1 r"])
def test_bad_rules_get_dockerds_message(text: str) -> None:
    with pytest.raises(ValueError) as info:
        devices.parse_rule(text)
    assert str(info.value) == f"invalid device cgroup rule format: '{text}'"


def test_a_major_beyond_32_bits_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid major value in device cgroup rule format: 'c 4294967296:1 r'"):
        devices.parse_rule("c 4294967296:1 r")


def test_default_policy_is_moby_then_extra_then_runc() -> None:
    extra = DeviceRule(True, "c", 1, 11, "r")
    rules = devices.policy(False, [extra])
    assert rules[0] == devices.DENY_ALL
    assert rules == (*devices.DOCKER_DEFAULT, extra, *devices.RUNC_ALLOWED)
    assert devices.policy(True, [extra]) == (devices.ALLOW_ALL,)
    assert devices.v1_writes(rules)[:2] == [("devices.deny", "a"), ("devices.allow", "c 1:5 rwm")]
    assert ("devices.deny", "c 10:229 rwm") in devices.v1_writes(rules)
    assert devices.v1_writes(rules)[-3:] == [("devices.allow", "c 136:* rwm"), ("devices.allow", "c 5:2 rwm"),
                                            ("devices.allow", "c 10:200 rwm")]


def test_the_default_policy_grants_dockers_list_only() -> None:
    eff = devices.effective(devices.policy(False))
    assert not eff.default_allow
    for major, minor in ((1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 1), (5, 2), (136, 4), (10, 200)):
        assert eff.permits("c", major, minor, "rw"), (major, minor)
    for kind, major, minor in (("c", 1, 11), ("c", 4, 0), ("b", 7, 0), ("b", 8, 0), ("c", 10, 229), ("c", 1, 1)):
        assert not eff.permits(kind, major, minor, "r"), (kind, major, minor)
        assert eff.permits(kind, major, minor, "m")  # runc: mknod of anything


def test_effective_follows_v1_arithmetic() -> None:
    kmsg_r = DeviceRule(True, "c", 1, 11, "r")
    eff = devices.effective([devices.DENY_ALL, kmsg_r, DeviceRule(True, "c", 1, 11, "w")])
    assert eff.exceptions == (DeviceRule(True, "c", 1, 11, "rw"),)  # merged
    assert eff.permits("c", 1, 11, "rw") and not eff.permits("c", 1, 11, "m")
    eff = devices.effective([devices.DENY_ALL, DeviceRule(True, "c", 1, 11, "rw"), DeviceRule(False, "c", 1, 11, "w")])
    assert eff.exceptions == (kmsg_r,)
    # A deny only removes the exception with exactly its numbers: no hole punched in a wildcard.
    eff = devices.effective([devices.DENY_ALL, DeviceRule(True, "c", 1, -1, "r"), DeviceRule(False, "c", 1, 11, "r")])
    assert eff.permits("c", 1, 11, "r")
    # /dev/fuse: denied by moby's default, allowed when a rule after it names it.
    assert devices.effective(devices.policy(False, [DeviceRule(True, "c", 10, 229, "rwm")])).permits("c", 10, 229, "rw")
    assert devices.effective(devices.policy(False, [devices.parse_rule("a")])) == devices.Effective(True, ())
    allow_but = devices.effective([devices.ALLOW_ALL, DeviceRule(False, "b", -1, -1, "w")])
    assert allow_but.permits("b", 8, 0, "r") and not allow_but.permits("b", 8, 0, "rw")


def test_from_host_path_reads_the_node() -> None:
    nodes, rules = devices.from_host_path("/dev/null", "/dev/mynull", "r")
    assert [(n.path, n.type, n.major, n.minor, n.host_path) for n in nodes] == [("/dev/mynull", "c", 1, 3, "/dev/null")]
    assert nodes[0].mode == stat.S_IMODE(os.stat("/dev/null").st_mode)
    assert rules == [DeviceRule(True, "c", 1, 3, "r")]


def test_from_host_path_takes_every_node_under_a_directory() -> None:
    if not os.path.exists("/dev/net/tun"):
        pytest.skip("no /dev/net/tun on this host")
    nodes, rules = devices.from_host_path("/dev/net", "/dev/n", "rwm")
    assert ("/dev/n/tun", "c", 10, 200) in [(n.path, n.type, n.major, n.minor) for n in nodes]
    assert DeviceRule(True, "c", 10, 200, "rwm") in rules


def test_missing_or_non_device_paths_get_dockerds_message(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as info:
        devices.from_host_path("/dev/nope", "/dev/nope", "rwm")
    assert str(info.value) == ('error gathering device information while adding custom device "/dev/nope": '
                               "no such file or directory")
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match=r'custom device ".*file": not a device node'):
        devices.from_host_path(str(tmp_path / "file"), "/dev/x", "rwm")


def test_permissions() -> None:
    assert devices.valid_permissions("rwm") and devices.valid_permissions("r") and devices.valid_permissions("mw")
    assert not any(devices.valid_permissions(p) for p in ("", "rr", "x", "rwmx"))


# -- both kernel modes for real ---------------------------------------------------------------------


@pytest.fixture
def prefix() -> Iterator[str]:
    name = "pyctest" + secrets.token_hex(3)
    yield name
    assert Cgroup.cleanup_prefix(name) == []


def try_devices(cg: Cgroup, where: Path, probes: list[Probe]) -> dict[str, str]:
    """From a forked child in `cg`: mknod each probe under `where` and open it; {name: "ok" | strerror}."""
    if os.statvfs(where).f_flag & os.ST_NODEV:
        pytest.skip(f"{where} is mounted nodev")

    def child() -> dict[str, str]:
        cg.join(os.getpid())
        out = {}
        for p in probes:
            path = where / p.name
            try:
                os.mknod(path, (stat.S_IFBLK if p.type == "b" else stat.S_IFCHR) | 0o600, os.makedev(p.major, p.minor))
                os.close(os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK))
                out[p.name] = "ok"
            except OSError as exc:
                out[p.name] = exc.strerror or str(exc)
            finally:
                if os.path.lexists(path):
                    os.unlink(path)
        return out

    return dict(run_forked(child))


def make(prefix: str, name: str, mode: str, rules: tuple[DeviceRule, ...]) -> Cgroup:
    return Cgroup.create(prefix, name, Resources(devices=rules), mounts=mounts_for(mode))


@pytest.mark.root
@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", MODES)
def test_default_policy_denies_host_devices(prefix: str, tmp_path: Path, mode: str) -> None:
    cg = make(prefix, "default", mode, devices.policy(False))
    probes = [KMSG, host_block_device(), TTY0, NULL]
    got = try_devices(cg, tmp_path, probes)
    assert got == {"kmsg": "Operation not permitted", "block": "Operation not permitted",
                   "tty0": "Operation not permitted", "null": "ok"}
    if mode == "v1":
        listed = Path(cg.v1["devices"], "devices.list").read_text().split("\n")
        assert "c 1:3 rwm" in listed and "c *:* m" in listed and not any(line.startswith("a ") for line in listed)
    else:
        assert len(bpf_devices.attached(cg.unified or "")) == 1
    cg.remove()


@pytest.mark.root
@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", MODES)
def test_a_rule_opens_exactly_its_device(prefix: str, tmp_path: Path, mode: str) -> None:
    block = host_block_device()
    extra = DeviceRule(True, "b", block.major, block.minor, "r")
    cg = make(prefix, "rule", mode, devices.policy(False, [extra]))
    got = try_devices(cg, tmp_path, [KMSG, block, TTY0])
    assert got == {"kmsg": "Operation not permitted", "block": "ok", "tty0": "Operation not permitted"}
    cg.remove()


@pytest.mark.root
@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", MODES)
def test_read_only_permission_refuses_writing(prefix: str, tmp_path: Path, mode: str) -> None:
    cg = make(prefix, "ro", mode, devices.policy(False, [DeviceRule(True, "c", 1, 11, "r")]))

    def child() -> list[str]:
        cg.join(os.getpid())
        path = tmp_path / "kmsg"
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 11))
        out = []
        for flags in (os.O_RDONLY, os.O_WRONLY):
            try:
                os.close(os.open(path, flags | os.O_NONBLOCK))
                out.append("ok")
            except OSError as exc:
                out.append(exc.strerror or "")
        os.unlink(path)
        return out

    assert run_forked(child) == ["ok", "Operation not permitted"]
    cg.remove()


@pytest.mark.root
@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", MODES)
def test_privileged_opens_everything_and_needs_no_program(prefix: str, tmp_path: Path, mode: str) -> None:
    cg = make(prefix, "priv", mode, devices.policy(True))
    got = try_devices(cg, tmp_path, [KMSG, host_block_device(), TTY0])
    assert got == {"kmsg": "ok", "block": "ok", "tty0": "ok"}
    if cg.unified is not None:
        assert bpf_devices.attached(cg.unified) == []
    cg.remove()


@pytest.mark.root
@pytest.mark.timeout(60)
def test_the_program_goes_with_its_cgroup(prefix: str) -> None:
    """No BPF program outlives the container's cgroup (our fd is closed at attach)."""
    cg = make(prefix, "gone", "bpf", devices.policy(False))
    assert cg.unified is not None
    ids = bpf_devices.attached(cg.unified)
    assert len(ids) == 1 and bpf_devices.program_exists(ids[0])
    mine = {os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd") if os.path.exists(
        f"/proc/self/fd/{fd}")}
    assert not any("bpf-prog" in link for link in mine)
    cg.remove()
    deadline = time.monotonic() + 10
    while bpf_devices.program_exists(ids[0]):  # the kernel frees it after the cgroup's release (async)
        assert time.monotonic() < deadline, "the device program outlived its cgroup"
        time.sleep(0.02)


@pytest.mark.root
@pytest.mark.parametrize("rules", [
    devices.policy(False),
    devices.policy(False, [DeviceRule(True, "c", 1, 11, "r"), DeviceRule(True, "c", 1, 11, "w"),
                           DeviceRule(True, "b", 7, -1, "rm"), DeviceRule(True, "c", 10, 229, "rwm")]),
    (devices.DENY_ALL, DeviceRule(True, "c", 1, 3, "rwm"), DeviceRule(False, "c", 1, 3, "w"),
     DeviceRule(True, "c", 1, -1, "r"), DeviceRule(False, "c", 1, 5, "r")),
], ids=["default", "extras", "denies"])  # fmt: skip
def test_effective_is_what_v1_keeps(prefix: str, rules: tuple[DeviceRule, ...]) -> None:
    """The arithmetic the BPF program is compiled from agrees with the kernel's own (devices.list)."""
    cg = make(prefix, "list", "v1", rules)
    listed = set(Path(cg.v1["devices"], "devices.list").read_text().split("\n")) - {""}
    eff = devices.effective(rules)
    assert not eff.default_allow
    assert listed == {devices.rule_text(e) for e in eff.exceptions}
    cg.remove()
