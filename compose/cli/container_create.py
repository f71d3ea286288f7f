"""`docker run`/`create` flags -> the body of POST /containers/create (pure).

Each flag's syntax is docker's: `-v src:dst:ro`, `--mount type=bind,…`,
`--tmpfs /run:size=64m`, `--ulimit nofile=1024:2048`, `--memory 512m`,
`--cpus 1.5`, `--restart on-failure:3`, `-p 127.0.0.1:8080:80/udp`,
`--env-file`. A bad value is a `click.BadParameter` naming the flag.

The CLI's fast path (fastpath.py) builds bodies here without click: click
is imported only to raise, and the options are a NamedTuple, not a
dataclass (dataclasses costs ~10 ms to import). No `from __future__ import
annotations` here: NamedTuple would compile each of its fifty string
annotations, ~2 ms of every `container run`.
"""

import os
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import click

_RAM = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtp])?i?b?$", re.I)
_RESTART = ("no", "always", "unless-stopped", "on-failure")


def _bad(message: str, flag: str) -> "click.BadParameter":
    import click

    return click.BadParameter(message, param_hint=flag)


def _usage(message: str) -> "click.UsageError":
    import click

    return click.UsageError(message)


class CreateOptions(NamedTuple):
    image: str
    command: tuple[str, ...] = ()
    name: str | None = None
    detach: bool = False
    interactive: bool = False
    tty: bool = False
    auto_remove: bool = False
    env: tuple[str, ...] = ()
    env_files: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    mounts: tuple[str, ...] = ()
    tmpfs: tuple[str, ...] = ()
    workdir: str | None = None
    user: str | None = None
    entrypoint: str | None = None
    init: bool = False
    memory: str | None = None
    cpus: str | None = None
    pids_limit: int | None = None
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    read_only: bool = False
    security_opt: tuple[str, ...] = ()
    restart: str | None = None
    network: str | None = None
    labels: tuple[str, ...] = ()
    hostname: str | None = None
    stop_signal: str | None = None
    stop_timeout: int | None = None
    ulimits: tuple[str, ...] = ()
    sysctls: tuple[str, ...] = ()
    shm_size: str | None = None
    publish: tuple[str, ...] = ()
    publish_all: bool = False
    expose: tuple[str, ...] = ()
    network_aliases: tuple[str, ...] = ()
    ip: str | None = None
    mac_address: str | None = None
    add_hosts: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    console_size: tuple[int, int] | None = None
    environ: Mapping[str, str] = MappingProxyType({})


def ram_in_bytes(value: str, flag: str) -> int:
    """docker's RAMInBytes: `512m`, `1g`, `1.5GiB`, `1024` (binary multiples)."""
    match = _RAM.match(value.strip())
    if match is None:
        raise _bad(f"invalid size: {value!r}", flag)
    number, unit = float(match.group(1)), (match.group(2) or "").lower()
    return int(number * 1024 ** (" kmgtp".index(unit) if unit else 0))


def nano_cpus(value: str) -> int:
    try:
        cpus = float(value)
    except ValueError:
        raise _bad(f"invalid number of CPUs: {value!r}", "--cpus") from None
    if cpus < 0:
        raise _bad("CPUs cannot be negative", "--cpus")
    return round(cpus * 1e9)


def restart_policy(value: str) -> dict[str, Any]:
    name, _, count = value.partition(":")
    if name not in _RESTART:
        raise _bad(f"invalid restart policy {value!r}", "--restart")
    if count and name != "on-failure":
        raise _bad(f"maximum retry count can only be used with 'on-failure': {value!r}", "--restart")
    try:
        retries = int(count) if count else 0
    except ValueError:
        raise _bad(f"maximum retry count must be an integer: {value!r}", "--restart") from None
    return {"Name": name, "MaximumRetryCount": retries}


def ulimit(value: str) -> dict[str, Any]:
    name, sep, limits = value.partition("=")
    soft, _, hard = limits.partition(":")
    try:
        if not sep or not name:
            raise ValueError
        soft_n = int(soft)
        hard_n = int(hard) if hard else soft_n
    except ValueError:
        raise _bad(f"invalid ulimit {value!r} (want name=soft[:hard])", "--ulimit") from None
    if soft_n > hard_n:
        raise _bad(f"ulimit soft limit must be less than hard limit: {value}", "--ulimit")
    return {"Name": name, "Soft": soft_n, "Hard": hard_n}


def key_values(values: tuple[str, ...], flag: str, need_value: bool) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, arg = value.partition("=")
        if not key or (need_value and not sep):
            raise _bad(f"invalid value {value!r} (want key=value)", flag)
        out[key] = arg
    return out


def read_env_file(path: str, environ: Mapping[str, str]) -> list[str]:
    """docker's env-file: KEY=VALUE lines, `#` comments, a bare KEY taken from our environment."""
    from pathlib import Path

    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise _bad(f"{path}: {exc.strerror}", "--env-file") from None
    out = []
    for line in text.splitlines():
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        out += environment([line], environ)
    return out


def environment(values: list[str] | tuple[str, ...], environ: Mapping[str, str]) -> list[str]:
    out = []
    for value in values:
        key, sep, _ = value.partition("=")
        if not key or any(c.isspace() for c in key):
            raise _bad(f"invalid environment variable: {value!r}", "-e")
        if sep:
            out.append(value)
        elif key in environ:
            out.append(f"{key}={environ[key]}")
    return out


def volume(value: str) -> tuple[str | None, str]:
    """`-v`: (bind or volume spec for HostConfig.Binds, or None and an anonymous volume's path)."""
    parts = value.split(":")
    if len(parts) == 1:
        if not value.startswith("/"):
            raise _bad(f"invalid volume spec {value!r}: the path must be absolute", "-v")
        return None, value
    if len(parts) > 3 or not parts[0] or not parts[1].startswith("/"):
        raise _bad(f"invalid volume specification: {value!r}", "-v")
    source = parts[0]
    if source.startswith("."):  # docker resolves relative bind sources against the cwd
        parts[0] = os.path.abspath(source)
    return ":".join(parts), parts[1]


def mount(value: str) -> dict[str, Any]:
    """`--mount type=bind,source=…,target=…[,readonly][,bind-propagation=…]…` -> a Mount object."""
    import csv

    fields = next(csv.reader([value]))
    spec: dict[str, Any] = {"Type": "volume"}
    options: dict[str, dict[str, Any]] = {}
    for item in fields:
        key, sep, arg = item.partition("=")
        key = key.strip().lower()
        if key in ("readonly", "ro"):
            spec["ReadOnly"] = arg.lower() in ("", "1", "true")
        elif not sep and key not in ("volume-nocopy", "bind-nonrecursive"):
            raise _bad(f"invalid field {item!r}: must be a key=value pair", "--mount")
        elif key == "type":
            spec["Type"] = arg
        elif key in ("source", "src"):
            spec["Source"] = arg
        elif key in ("target", "destination", "dst"):
            spec["Target"] = arg
        elif key == "consistency":
            spec["Consistency"] = arg
        elif key == "bind-propagation":
            options.setdefault("BindOptions", {})["Propagation"] = arg
        elif key == "bind-nonrecursive":
            options.setdefault("BindOptions", {})["NonRecursive"] = arg.lower() in ("", "1", "true")
        elif key == "volume-nocopy":
            options.setdefault("VolumeOptions", {})["NoCopy"] = arg.lower() in ("", "1", "true")
        elif key == "volume-subpath":
            options.setdefault("VolumeOptions", {})["Subpath"] = arg
        elif key == "volume-label":
            label, _, text = arg.partition("=")
            options.setdefault("VolumeOptions", {}).setdefault("Labels", {})[label] = text
        elif key == "volume-driver":
            options.setdefault("VolumeOptions", {}).setdefault("DriverConfig", {})["Name"] = arg
        elif key == "volume-opt":
            opt, _, text = arg.partition("=")
            config = options.setdefault("VolumeOptions", {}).setdefault("DriverConfig", {})
            config.setdefault("Options", {})[opt] = text
        elif key == "tmpfs-size":
            options.setdefault("TmpfsOptions", {})["SizeBytes"] = ram_in_bytes(arg, "--mount")
        elif key == "tmpfs-mode":
            try:
                options.setdefault("TmpfsOptions", {})["Mode"] = int(arg, 8)
            except ValueError:
                raise _bad(f"invalid tmpfs-mode {arg!r}", "--mount") from None
        else:
            raise _bad(f"unexpected key {key!r} in {value!r}", "--mount")
    if not spec.get("Target"):
        raise _bad(f"target is required in {value!r}", "--mount")
    if spec["Type"] == "bind" and not spec.get("Source"):
        raise _bad(f"source is required for a bind mount: {value!r}", "--mount")
    return {**spec, **options}


def port_bindings(spec: str) -> dict[str, list[dict[str, str]]]:
    """`-p [ip:][host:]container[/proto]` (ranges allowed) -> PortBindings entries (compose's parser)."""
    from compose.loader.ports import parse_port

    try:
        entries = parse_port(spec)
    except ValueError as exc:
        raise _bad(str(exc), "-p") from None
    if any(entry["target"] == 0 for entry in entries):
        raise _bad(f"invalid containerPort: {spec}", "-p")
    out: dict[str, list[dict[str, str]]] = {}
    for entry in entries:
        out.setdefault(f"{entry['target']}/{entry['protocol']}", []).append(
            {"HostIp": entry.get("host_ip", ""), "HostPort": entry.get("published", "")})
    return out


def create_body(opts: CreateOptions) -> dict[str, Any]:
    """The JSON body of POST /containers/create for these flags."""
    if opts.auto_remove and opts.restart and opts.restart != "no":
        raise _usage("conflicting options: cannot specify both --restart and --rm")
    env = [line for path in opts.env_files for line in read_env_file(path, opts.environ)]
    env += environment(opts.env, opts.environ)
    binds: list[str] = []
    anonymous: dict[str, dict[str, Any]] = {}
    for spec in opts.volumes:
        bind, target = volume(spec)
        if bind is None:
            anonymous[target] = {}
        else:
            binds.append(bind)
    ports: dict[str, list[dict[str, str]]] = {}
    for spec in opts.publish:
        for key, bindings in port_bindings(spec).items():
            ports.setdefault(key, []).extend(bindings)
    attach = not opts.detach
    host: dict[str, Any] = {
        "Binds": binds or None,
        "AutoRemove": opts.auto_remove,
        "Privileged": opts.privileged,
        "ReadonlyRootfs": opts.read_only,
        "CapAdd": list(opts.cap_add) or None,
        "CapDrop": list(opts.cap_drop) or None,
        "SecurityOpt": list(opts.security_opt) or None,
        "Mounts": [mount(m) for m in opts.mounts] or None,
        "Tmpfs": dict(_tmpfs(t) for t in opts.tmpfs) or None,
        "Sysctls": key_values(opts.sysctls, "--sysctl", True) or None,
        "Ulimits": [ulimit(u) for u in opts.ulimits] or None,
        "PortBindings": ports or None,
        "RestartPolicy": restart_policy(opts.restart) if opts.restart else None,
        "NetworkMode": opts.network,
        "Init": True if opts.init else None,
        "Memory": ram_in_bytes(opts.memory, "--memory") if opts.memory else None,
        "NanoCpus": nano_cpus(opts.cpus) if opts.cpus else None,
        "PidsLimit": opts.pids_limit,
        "ShmSize": ram_in_bytes(opts.shm_size, "--shm-size") if opts.shm_size else None,
        "ConsoleSize": list(opts.console_size) if opts.console_size and opts.tty else None,
        "PublishAllPorts": True if opts.publish_all else None,
        "ExtraHosts": list(opts.add_hosts) or None,
        "Dns": list(opts.dns) or None,
        "DnsSearch": list(opts.dns_search) or None,
        "DnsOptions": list(opts.dns_options) or None,
        "Links": list(opts.links) or None,
    }
    body: dict[str, Any] = {
        "Image": opts.image,
        "Cmd": list(opts.command) or None,
        "Entrypoint": None if opts.entrypoint is None else [opts.entrypoint],
        "Env": env or None,
        "Hostname": opts.hostname,
        "User": opts.user,
        "WorkingDir": opts.workdir,
        "Labels": key_values(opts.labels, "--label", False) or None,
        "Tty": opts.tty,
        "OpenStdin": opts.interactive,
        "AttachStdin": attach and opts.interactive,
        "AttachStdout": attach,
        "AttachStderr": attach,
        "StdinOnce": attach and opts.interactive,
        "Volumes": anonymous or None,
        "ExposedPorts": {key: {} for key in [*ports, *exposed(opts.expose)]} or None,
        "StopSignal": opts.stop_signal,
        "StopTimeout": opts.stop_timeout,
        "HostConfig": {k: v for k, v in host.items() if v is not None},
    }
    networking = endpoints_config(opts)
    if networking:
        body["NetworkingConfig"] = {"EndpointsConfig": networking}
    return {k: v for k, v in body.items() if v is not None}


def exposed(values: tuple[str, ...]) -> list[str]:
    """`--expose 80`, `--expose 7000-7002/udp` -> ExposedPorts keys."""
    from compose.loader.ports import expose_keys

    keys = []
    for value in values:
        try:
            keys += expose_keys((value,))
        except ValueError as exc:
            raise _bad(f"{exc} in {value!r}", "--expose") from None
    return keys


def endpoints_config(opts: CreateOptions) -> dict[str, Any]:
    """`--network-alias`, `--ip`, `--mac-address` -> NetworkingConfig.EndpointsConfig of the --network."""
    endpoint: dict[str, Any] = {}
    if opts.network_aliases:
        endpoint["Aliases"] = list(opts.network_aliases)
    if opts.ip:
        endpoint["IPAMConfig"] = {"IPv4Address": opts.ip}
    if opts.mac_address:
        endpoint["MacAddress"] = opts.mac_address
    if not endpoint:
        return {}
    network = opts.network or "default"
    if network in ("default", "bridge", "host", "none") and (opts.network_aliases or opts.ip):
        raise _usage("network-scoped aliases and static addresses are only supported for user-defined networks")
    return {network: endpoint}


def _tmpfs(value: str) -> tuple[str, str]:
    path, _, options = value.partition(":")
    if not path.startswith("/"):
        raise _bad(f"invalid tmpfs {value!r}: the path must be absolute", "--tmpfs")
    return path, options
