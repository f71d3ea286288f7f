"""What the Engine API spec does not say and dockerd's Go types do, laid over the spec by spec_compile.

dockerd decodes request bodies with Go's encoding/json into its own structs:
error messages name those structs (`container.HostConfig`, `CreateRequest`),
integers have Go's widths (`uint16`, `int`), and a few fields take more than
the spec says (strslice.StrSlice: a string or a list; `[2]uint` console
sizes). Keys are `<Go struct>.<field>` as spec_compile names them.
"""

from __future__ import annotations

from typing import Any

BODY_PREFIX = "body:"

# Where spec_compile meets a struct (a definition, an inline object at `Struct.Field`, an operation's
# body) -> (Go's type name, as `Struct` of its errors prints it; its qualified name).
STRUCTS: dict[str, tuple[str, str]] = {
    "body:ContainerCreate": ("CreateRequest", "container.CreateRequest"),
    "body:ContainerExec": ("ExecConfig", "types.ExecConfig"),
    "body:ExecStart": ("ExecStartConfig", "types.ExecStartConfig"),
    "body:NetworkCreate": ("NetworkCreateRequest", "types.NetworkCreateRequest"),
    "body:NetworkConnect": ("NetworkConnect", "types.NetworkConnect"),
    "body:NetworkDisconnect": ("NetworkDisconnect", "types.NetworkDisconnect"),
    "body:ContainerUpdate": ("UpdateConfig", "container.UpdateConfig"),
    "ContainerConfig": ("Config", "container.Config"),
    "HostConfig": ("HostConfig", "container.HostConfig"),
    "Resources": ("Resources", "container.Resources"),
    "HealthConfig": ("HealthConfig", "container.HealthConfig"),
    "RestartPolicy": ("RestartPolicy", "container.RestartPolicy"),
    "DeviceMapping": ("DeviceMapping", "container.DeviceMapping"),
    "DeviceRequest": ("DeviceRequest", "container.DeviceRequest"),
    "HostConfig.LogConfig": ("LogConfig", "container.LogConfig"),
    "HostConfig.Ulimits": ("Ulimit", "units.Ulimit"),
    "Resources.Ulimits": ("Ulimit", "units.Ulimit"),
    "HostConfig.BlkioWeightDevice": ("WeightDevice", "blkiodev.WeightDevice"),
    "Resources.BlkioWeightDevice": ("WeightDevice", "blkiodev.WeightDevice"),
    "ThrottleDevice": ("ThrottleDevice", "blkiodev.ThrottleDevice"),
    "Mount": ("Mount", "mount.Mount"),
    "Mount.BindOptions": ("BindOptions", "mount.BindOptions"),
    "Mount.VolumeOptions": ("VolumeOptions", "mount.VolumeOptions"),
    "VolumeOptions.DriverConfig": ("Driver", "mount.Driver"),
    "Mount.TmpfsOptions": ("TmpfsOptions", "mount.TmpfsOptions"),
    "NetworkingConfig": ("NetworkingConfig", "network.NetworkingConfig"),
    "EndpointSettings": ("EndpointSettings", "network.EndpointSettings"),
    "EndpointIPAMConfig": ("EndpointIPAMConfig", "network.EndpointIPAMConfig"),
    "IPAM": ("IPAM", "network.IPAM"),
    "IPAMConfig": ("IPAMConfig", "network.IPAMConfig"),
    "ConfigReference": ("ConfigReference", "network.ConfigReference"),
    "PortBinding": ("PortBinding", "nat.PortBinding"),
    "VolumeCreateOptions": ("CreateOptions", "volume.CreateOptions"),
    "AuthConfig": ("AuthConfig", "registry.AuthConfig"),
}

# Fields dockerd's Go type has and the spec leaves out: a field the engine reads must be in the table,
# or decoding drops it (registry.AuthConfig carries tokens and the legacy `auth` besides the spec's four).
EXTRA_FIELDS: dict[str, tuple[tuple[str, dict[str, Any]], ...]] = {
    "AuthConfig": (("auth", {"k": "string"}), ("identitytoken", {"k": "string"}), ("registrytoken", {"k": "string"})),
}

_CONFIG_STRUCTS = ("CreateRequest", "Config")
_STRSLICE = {f"{s}.{f}" for s in _CONFIG_STRUCTS for f in ("Cmd", "Entrypoint", "Shell")} | {
    f"{s}.{f}" for s in ("HostConfig", "UpdateConfig") for f in ("CapAdd", "CapDrop")}

# Integer fields: (Go type as errors print it, the width that bounds it).
INTS: dict[str, tuple[str, str]] = {
    **{f"{s}.StopTimeout": ("int", "int") for s in _CONFIG_STRUCTS},
    "HostConfig.OomScoreAdj": ("int", "int"),
    "HostConfig.ShmSize": ("int64", "int64"),
    **{f"{s}.{f}": (t, t) for s in ("HostConfig", "Resources", "UpdateConfig") for f, t in (
        ("CpuShares", "int64"), ("BlkioWeight", "uint16"), ("IOMaximumIOps", "uint64"),
        ("IOMaximumBandwidth", "uint64"), ("MemorySwappiness", "int64"), ("PidsLimit", "int64"))},
    "WeightDevice.Weight": ("uint16", "uint16"),
    "ThrottleDevice.Rate": ("uint64", "uint64"),
    "Ulimit.Soft": ("int64", "int64"),
    "Ulimit.Hard": ("int64", "int64"),
    "RestartPolicy.MaximumRetryCount": ("int", "int"),
    **{f"HealthConfig.{f}": ("time.Duration", "int64") for f in ("Interval", "Timeout", "StartPeriod",
                                                                  "StartInterval")},
    "HealthConfig.Retries": ("int", "int"),
    "TmpfsOptions.Mode": ("fs.FileMode", "uint32"),
    "TmpfsOptions.SizeBytes": ("int64", "int64"),
    "EndpointSettings.IPPrefixLen": ("int", "int"),
    "EndpointSettings.GlobalIPv6PrefixLen": ("int", "int"),
    "DeviceRequest.Count": ("int", "int"),
}

# Containers' Go type names where they are not `[]<item>` / `map[string]<value>`.
CONTAINERS: dict[str, str] = {
    "HostConfig.PortBindings": "nat.PortMap",
    **{f"{s}.ExposedPorts": "nat.PortSet" for s in _CONFIG_STRUCTS},
    **{f"{s}.Volumes": "map[string]struct {}" for s in _CONFIG_STRUCTS},
    "HostConfig.Ulimits": "[]*units.Ulimit",
    "HostConfig.BlkioWeightDevice": "[]*blkiodev.WeightDevice",
    **{f"HostConfig.{f}": "[]*blkiodev.ThrottleDevice" for f in ("BlkioDeviceReadBps", "BlkioDeviceWriteBps",
                                                                "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps")},
    "NetworkingConfig.EndpointsConfig": "map[string]*network.EndpointSettings",
}

CONSOLE_SIZE = {"HostConfig.ConsoleSize", "ExecConfig.ConsoleSize", "ExecStartConfig.ConsoleSize"}

# Names the engine makes a directory, a file or an object key of: at most NAME_MAX bytes, no NUL.
NAMES = {"CreateOptions.Name", "NetworkCreateRequest.Name"}

# Query parameters whose spec type is not how dockerd reads them, by operation: logs' since and
# until are timestamps (`1700000000.5`); a container's name becomes a record of the engine.
QUERY_KINDS: dict[tuple[str, str], str] = {
    ("ContainerLogs", "since"): "string",
    ("ContainerLogs", "until"): "string",
    ("ContainerCreate", "name"): "name",
    ("ContainerRename", "name"): "name",
}


def struct_name(where: str, title: str | None) -> tuple[str, str]:
    if where in STRUCTS:
        return STRUCTS[where]
    short = title or where.rsplit(".", 1)[-1].removeprefix(BODY_PREFIX)
    return short, "types." + short


def overlay(path: str, desc: dict[str, Any]) -> dict[str, Any]:
    """The spec's descriptor of the field at `path`, as dockerd's Go type has it."""
    if path in _STRSLICE:
        return {"k": "strslice", "go": "strslice.StrSlice"}
    if path in CONSOLE_SIZE:
        return {"k": "array", "go": "[2]uint", "len": 2, "of": {"k": "int", "go": "uint", "base": "uint"}}
    if path in INTS and desc["k"] == "int":
        go, base = INTS[path]
        return {"k": "int", "go": go, "base": base}
    if path in CONTAINERS and desc["k"] in ("slice", "map"):
        return {**desc, "go": CONTAINERS[path]}
    if path in NAMES and desc["k"] == "string":
        return {"k": "string", "name": True}
    return desc


def query_kind(op_id: str, name: str, param: dict[str, Any]) -> str:
    if (op_id, name) in QUERY_KINDS:
        return QUERY_KINDS[(op_id, name)]
    return {"boolean": "bool", "integer": "int", "array": "array"}.get(str(param.get("type")), "string")
