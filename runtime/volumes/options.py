"""Names and driver options of the local driver, checked as Docker checks them (pure).

The local driver takes `type`, `device` and `o` (what `mount -t TYPE -o O
DEVICE` would take) and `size` (a quota, which needs a filesystem with
project quotas: refused, as Docker does without one). A volume with a type
or device gets that mounted at its `_data` directory on first use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from runtime.linux import syscalls as sc
from runtime.linux.mounts import parse_options
from runtime.volumes.errors import VolumeInvalid

NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
VALID_OPTIONS = ("type", "o", "device", "size")
# An option given needs these others (Docker's mandatoryOpts).
REQUIRES: dict[str, tuple[str, ...]] = {"device": ("type",), "type": ("device",), "o": ("device", "type")}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_PROPAGATION_MASK = sc.MS_PRIVATE | sc.MS_SHARED | sc.MS_SLAVE | sc.MS_UNBINDABLE
_PASSWORD = re.compile(r"password=[^,]*")


def check_name(name: str) -> None:
    if not NAME.fullmatch(name):
        raise VolumeInvalid(
            f'"{name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are '
            "allowed. If you intended to pass a host directory, use absolute path", "create", name)


def check_options(name: str, options: Mapping[str, str]) -> None:
    """Docker's validateOpts for the local driver, same messages."""
    for key in options:
        if key not in VALID_OPTIONS:
            raise VolumeInvalid(f'invalid option: "{key}"', "create", name)
    if "size" in options and ram_in_bytes(options["size"], name) > 0:
        raise VolumeInvalid("quota size requested but no quota support", "create", name)
    for key in sorted(REQUIRES):
        if key in options:
            for needed in REQUIRES[key]:
                if needed not in options:
                    raise VolumeInvalid(f'missing required option: "{needed}"', "create", name)


def ram_in_bytes(text: str, name: str = "") -> int:
    """go-units RAMInBytes: `100m`, `1.5GiB`, `512` (binary units)."""
    m = _SIZE.fullmatch(text.strip())
    if m is None:
        raise VolumeInvalid(f"invalid size: '{text}'", "create", name)
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


@dataclass(frozen=True)
class DeviceMount:
    """What mounting a volume's device takes: mount(2)'s arguments, then the follow-up calls."""

    device: str
    fstype: str
    flags: int  # MS_* for the first mount(2) (propagation excluded)
    data: str
    propagation: int  # applied by a second call when non-zero
    bind_remount: int  # flags a read-only/nosuid… bind needs a remount for (0: none)
    bind_clear: int

    def describe(self, target: str) -> str:
        """moby's mountError text (a password in the options masked)."""
        text = f"mount {self.device}:{target}, flags: {self.flags:#x}"
        if self.data:
            text += ", data: " + _PASSWORD.sub("password=********", self.data)
        return text


def device_mount(options: Mapping[str, str]) -> DeviceMount:
    """The mount for a volume's `type`/`device`/`o`, parsed the way `mount -o` options are."""
    device = options.get("device", "")
    if not device:
        raise VolumeInvalid("missing device in volume options")
    words = [w for w in options.get("o", "").split(",") if w and w != "defaults"]
    parsed = parse_options(words)
    flags = parsed.flags & ~_PROPAGATION_MASK
    data = ",".join([*([parsed.data] if parsed.data else []), *(["tmpcopyup"] if parsed.copy_up else [])])
    remount = clear = 0
    if flags & sc.MS_BIND:
        # The kernel ignores every flag but MS_REC on the bind itself: they need a remount.
        remount = flags & ~(sc.MS_BIND | sc.MS_REC)
        clear = parsed.clear
    return DeviceMount(device, options.get("type", ""), flags, data, parsed.propagation, remount, clear)
