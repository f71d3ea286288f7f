"""Local driver options to mount(2) arguments, size parsing, and the filter rules (pure)."""

from __future__ import annotations

import pytest

from runtime.linux import syscalls as sc
from runtime.volumes.errors import VolumeInvalid
from runtime.volumes.filters import bool_filter, match_labels, match_name, prune_predicate
from runtime.volumes.options import device_mount, ram_in_bytes
from runtime.volumes.records import ANONYMOUS_LABEL, VolumeRecord


def test_tmpfs_options_become_mount_data() -> None:
    plan = device_mount({"type": "tmpfs", "device": "tmpfs", "o": "size=1m,uid=1000,noexec"})
    assert (plan.device, plan.fstype, plan.data) == ("tmpfs", "tmpfs", "size=1m,uid=1000")
    assert plan.flags == sc.MS_NOEXEC and plan.propagation == 0 and plan.bind_remount == 0


def test_read_only_bind_needs_a_remount() -> None:
    plan = device_mount({"type": "none", "device": "/srv/data", "o": "bind,ro,rprivate"})
    assert plan.flags == sc.MS_BIND | sc.MS_RDONLY
    assert plan.bind_remount == sc.MS_RDONLY
    assert plan.propagation == sc.MS_PRIVATE | sc.MS_REC
    assert plan.describe("/x") == "mount /srv/data:/x, flags: 0x1001"
    assert device_mount({"type": "none", "device": "/d", "o": "rbind"}).flags == sc.MS_BIND | sc.MS_REC


def test_a_password_is_masked_in_messages() -> None:
    plan = device_mount({"type": "cifs", "device": "//h/s", "o": "username=u,password=secret,vers=3"})
    assert plan.describe("/t") == "mount //h/s:/t, flags: 0x0, data: username=u,password=********,vers=3"


def test_missing_device() -> None:
    with pytest.raises(VolumeInvalid, match="missing device"):
        device_mount({"type": "tmpfs"})


@pytest.mark.parametrize(("text", "size"), [("0", 0), ("512", 512), ("10m", 10 << 20), ("1.5GiB", 3 << 29),
                                            ("2 kb", 2048)])
def test_ram_in_bytes(text: str, size: int) -> None:
    assert ram_in_bytes(text) == size


def test_bad_size() -> None:
    with pytest.raises(VolumeInvalid, match="invalid size: 'lots'"):
        ram_in_bytes("lots")


def test_filter_helpers() -> None:
    assert bool_filter({}, "all", False) is False
    assert bool_filter({"all": ["true"]}, "all", False) is True
    assert bool_filter({"all": ["0"]}, "all", True) is False
    with pytest.raises(VolumeInvalid, match="invalid filter 'all=true,false'"):
        bool_filter({"all": ["true", "false"]}, "all", False)
    assert match_labels([], None)
    assert not match_labels(["a"], None)
    assert match_labels(["a", "b=2"], {"a": "", "b": "2"})
    assert not match_labels(["b=3"], {"b": "2"})
    assert match_name(["web"], "my-web-1") and match_name(["a+"], "a+") and not match_name(["^x"], "ax")


def test_prune_predicate() -> None:
    named = VolumeRecord("named", "", labels={"env": "dev"})
    anon = VolumeRecord("f" * 64, "", labels={ANONYMOUS_LABEL: ""})
    default = prune_predicate({})
    assert default(anon, 0) and not default(anon, 1) and not default(named, 0)
    every = prune_predicate({"all": ["true"]})
    assert every(named, 0) and every(anon, 0)
    assert not prune_predicate({"all": ["true"], "label!": ["env=dev"]})(named, 0)
    assert prune_predicate({"all": ["true"], "label!": ["env=prod"]})(named, 0)
    assert not every(VolumeRecord("x1", "", driver="other"), 0)
