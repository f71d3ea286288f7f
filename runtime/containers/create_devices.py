"""HostConfig.Devices, DeviceCgroupRules and Privileged -> the device nodes and the device cgroup policy.

dockerd's order (daemon/oci_linux.go WithDevices): each --device adds its
node(s) and an allow rule with its cgroup permissions, each
--device-cgroup-rule an allow rule, all between Docker's defaults and
runc's (runtime/linux/devices.py). A privileged container may open every
device; its --device nodes are still made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from runtime.errors import bad_request
from runtime.linux import devices
from runtime.spec import DeviceNode, DeviceRule


def plan_devices(hc: Mapping[str, Any], privileged: bool) -> tuple[tuple[DeviceNode, ...], tuple[DeviceRule, ...]]:
    """(nodes to make, the full rule list); a 400 with dockerd's message for a bad device or rule."""
    nodes: list[DeviceNode] = []
    extra: list[DeviceRule] = []
    for mapping in _list(hc.get("Devices"), "Devices"):
        found, rules = _device(mapping)
        nodes += found
        extra += rules
    for text in _list(hc.get("DeviceCgroupRules"), "DeviceCgroupRules"):
        if not isinstance(text, str):
            raise bad_request(f"invalid device cgroup rule format: '{text}'")
        try:
            extra.append(devices.parse_rule(text))
        except ValueError as exc:
            raise bad_request(str(exc)) from None
    return tuple(nodes), devices.policy(privileged, extra)


def _list(value: Any, key: str) -> Sequence[Any]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise bad_request(f"HostConfig.{key} must be a list")
    return value


def _device(mapping: Any) -> tuple[list[DeviceNode], list[DeviceRule]]:
    if not isinstance(mapping, Mapping):
        raise bad_request("HostConfig.Devices: each device must be an object with PathOnHost")
    host = str(mapping.get("PathOnHost") or "")
    inside = str(mapping.get("PathInContainer") or host)
    permissions = str(mapping.get("CgroupPermissions") or "rwm")
    if not devices.valid_permissions(permissions):
        raise bad_request(f"invalid device mode: {permissions}")
    if not inside.startswith("/"):
        raise bad_request(f"{inside} is not an absolute path")
    try:
        return devices.from_host_path(host, inside, permissions)
    except ValueError as exc:
        raise bad_request(str(exc)) from None
