"""Config and HostConfig of a create request, as Docker reads them: merged, defaulted, validated.

Pure functions over the request's mappings. Errors are Docker's 400s with
Docker's messages; what Docker accepts but this engine cannot do yet is a
400 that says so.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping, Sequence
from typing import Any

from runtime.containers.create_mounts import DEFAULT_SHM_SIZE, MASKED_PATHS, READONLY_PATHS
from runtime.containers.health import merge as merge_healthcheck
from runtime.errors import bad_request
from runtime.spec import Resources, Rlimit

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CPU_PERIOD = 100_000
MIN_MEMORY = 6 * 1024 * 1024
NAMESPACED_SYSCTLS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
                      "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced")
IGNORED_SECURITY_OPTS = ("apparmor=unconfined", "apparmor:unconfined", "label=disable", "label:disable")

CONFIG_DEFAULTS: dict[str, Any] = {
    "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
    "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": None, "Cmd": None,
    "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None, "OnBuild": None, "Labels": {},
}  # fmt: skip

HOST_CONFIG_DEFAULTS: dict[str, Any] = {
    "Binds": None, "ContainerIDFile": "", "LogConfig": {"Type": "json-file", "Config": {}},
    "NetworkMode": "bridge", "PortBindings": {}, "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
    "AutoRemove": False, "VolumeDriver": "", "VolumesFrom": None, "ConsoleSize": [0, 0], "CapAdd": None,
    "CapDrop": None, "CgroupnsMode": "private", "Dns": [], "DnsOptions": [], "DnsSearch": [], "ExtraHosts": None,
    "GroupAdd": None, "IpcMode": "private", "Cgroup": "", "Links": None, "OomScoreAdj": 0, "PidMode": "",
    "Privileged": False, "PublishAllPorts": False, "ReadonlyRootfs": False, "SecurityOpt": None, "UTSMode": "",
    "UsernsMode": "", "ShmSize": DEFAULT_SHM_SIZE, "Runtime": "runc", "Isolation": "", "CpuShares": 0,
    "Memory": 0, "NanoCpus": 0, "CgroupParent": "", "BlkioWeight": 0, "BlkioWeightDevice": [],
    "BlkioDeviceReadBps": [], "BlkioDeviceWriteBps": [], "BlkioDeviceReadIOps": [], "BlkioDeviceWriteIOps": [],
    "CpuPeriod": 0, "CpuQuota": 0, "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0, "CpusetCpus": "",
    "CpusetMems": "", "Devices": [], "DeviceCgroupRules": None, "DeviceRequests": None,
    "MemoryReservation": 0, "MemorySwap": 0, "MemorySwappiness": None, "OomKillDisable": None,
    "PidsLimit": None, "Ulimits": [], "CpuCount": 0, "CpuPercent": 0, "IOMaximumIOps": 0,
    "IOMaximumBandwidth": 0, "Mounts": None, "Tmpfs": None, "Sysctls": None, "Init": None,
    "MaskedPaths": None, "ReadonlyPaths": None,
}  # fmt: skip


def merge_config(user: Mapping[str, Any], image: Mapping[str, Any]) -> dict[str, Any]:
    """Docker's merge of the request's Config over the image's (daemon: `merge`)."""
    out = {**CONFIG_DEFAULTS, **{k: v for k, v in user.items() if k not in ("HostConfig", "NetworkingConfig")}}
    if not out.get("User"):
        out["User"] = image.get("User") or ""
    ports = {**(image.get("ExposedPorts") or {}), **(out.get("ExposedPorts") or {})}
    if ports:
        out["ExposedPorts"] = ports
    out["Env"] = merge_env(out.get("Env") or [], image.get("Env") or [])
    labels = {**(image.get("Labels") or {}), **(out.get("Labels") or {})}
    out["Labels"] = labels
    entrypoint = out.get("Entrypoint")
    if not entrypoint:
        if not out.get("Cmd"):
            out["Cmd"] = image.get("Cmd")
            if image.get("ArgsEscaped"):
                out["ArgsEscaped"] = True
        if entrypoint is None:
            out["Entrypoint"] = image.get("Entrypoint")
    if out.get("Entrypoint") == [""]:
        out["Entrypoint"] = None  # `--entrypoint ""` (after the merge, so the image's Cmd is not taken)
    if not out.get("WorkingDir"):
        out["WorkingDir"] = image.get("WorkingDir") or ""
    volumes = {**(image.get("Volumes") or {}), **(out.get("Volumes") or {})}
    out["Volumes"] = volumes or None
    for key in ("StopSignal", "OnBuild", "Shell"):
        if not out.get(key) and image.get(key):
            out[key] = image[key]
    healthcheck = merge_healthcheck(out.get("Healthcheck"), image.get("Healthcheck"))
    if healthcheck is not None:
        out["Healthcheck"] = healthcheck
    return out


def merge_env(user: Sequence[str], image: Sequence[str]) -> list[str]:
    """The request's variables, then the image's whose names the request does not set."""
    names = {e.partition("=")[0] for e in user}
    return [*user, *(e for e in image if e.partition("=")[0] not in names)]


def replace_or_append(base: Sequence[str], overrides: Sequence[str]) -> list[str]:
    """Docker's env override: `K=v` replaces K or appends; a bare `K` removes K."""
    out = list(base)
    for item in overrides:
        key, sep, _ = item.partition("=")
        index = next((i for i, e in enumerate(out) if e.partition("=")[0] == key), None)
        if not sep:
            if index is not None:
                del out[index]
        elif index is None:
            out.append(item)
        else:
            out[index] = item
    return out


def process_env(config_env: Sequence[str], hostname: str, tty: bool, home: str) -> tuple[str, ...]:
    base = [f"PATH={DEFAULT_PATH}", f"HOSTNAME={hostname}", *(["TERM=xterm"] if tty else [])]
    env = replace_or_append(base, config_env)
    if not any(e.startswith("HOME=") for e in env):
        env.append(f"HOME={home}")
    return tuple(env)


def command(config: Mapping[str, Any]) -> list[str]:
    """Entrypoint + Cmd; 400 "No command specified" when both are empty."""
    argv = [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]
    if not argv:
        raise bad_request("No command specified")
    return [str(a) for a in argv]


def parse_signal(value: str | int | None, default: int = signal.SIGTERM) -> int:
    """`SIGTERM`, `TERM`, `15`, `SIGRTMIN+3` -> a signal number; 400 when unknown."""
    if value is None or value == "":
        return int(default)
    text = str(value).strip()
    if text.isdigit():
        number = int(text)
        if 0 < number <= signal.SIGRTMAX:
            return number
        raise bad_request(f"Invalid signal: {value}")
    name = text.upper()
    name = name if name.startswith("SIG") else "SIG" + name
    if name.startswith("SIGRTMIN+") and name[9:].isdigit():
        number = signal.SIGRTMIN + int(name[9:])
        if number <= signal.SIGRTMAX:
            return int(number)
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise bad_request(f"Invalid signal: {value}") from None


def normalize_host_config(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The HostConfig as inspect shows it: every field present, Docker's defaults filled in."""
    out = {**HOST_CONFIG_DEFAULTS, **{k: v for k, v in raw.items() if v is not None or k not in HOST_CONFIG_DEFAULTS}}
    if out.get("NetworkMode") in ("", "default", None):
        out["NetworkMode"] = "bridge"
    if not out.get("ShmSize"):
        out["ShmSize"] = DEFAULT_SHM_SIZE
    if not out.get("IpcMode"):
        out["IpcMode"] = "private"
    if not out.get("CgroupnsMode"):
        out["CgroupnsMode"] = "private"
    log = dict(out.get("LogConfig") or {})
    out["LogConfig"] = {"Type": log.get("Type") or "json-file", "Config": dict(log.get("Config") or {})}
    policy = dict(out.get("RestartPolicy") or {})
    out["RestartPolicy"] = {"Name": policy.get("Name") or "no",
                            "MaximumRetryCount": policy.get("MaximumRetryCount") or 0}
    if out.get("Memory") and not out.get("MemorySwap"):
        out["MemorySwap"] = 2 * int(out["Memory"])  # Docker's default: as much swap as memory
    privileged = bool(out.get("Privileged"))
    if out.get("MaskedPaths") is None:
        out["MaskedPaths"] = [] if privileged else list(MASKED_PATHS)
    if out.get("ReadonlyPaths") is None:
        out["ReadonlyPaths"] = [] if privileged else list(READONLY_PATHS)
    return out


def resources(hc: Mapping[str, Any], ncpu: int) -> Resources:
    """cgroup limits with Docker's validation."""
    memory = int(hc.get("Memory") or 0)
    swap = int(hc.get("MemorySwap") or 0)
    reservation = int(hc.get("MemoryReservation") or 0)
    if 0 < memory < MIN_MEMORY:
        raise bad_request("Minimum memory limit allowed is 6MB")
    if swap > 0 and not memory:
        raise bad_request("You should always set the Memory limit when using Memoryswap limit, see usage")
    if memory and swap > 0 and swap < memory:
        raise bad_request("Minimum memoryswap limit should be larger than memory limit, see usage")
    if memory and reservation > memory:
        raise bad_request("Minimum memory limit can not be less than memory reservation limit, see usage")
    nano = int(hc.get("NanoCpus") or 0)
    period = int(hc.get("CpuPeriod") or 0)
    quota = int(hc.get("CpuQuota") or 0)
    if nano:
        if period:
            raise bad_request("Conflicting options: Nano CPUs and CPU Period cannot both be set")
        if quota:
            raise bad_request("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
        if nano < 0 or nano > ncpu * 10**9:
            raise bad_request(f"Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available")
        period, quota = CPU_PERIOD, nano * CPU_PERIOD // 10**9
    if period and not 1000 <= period <= 1_000_000:
        raise bad_request("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
    if quota and 0 < quota < 1000:
        raise bad_request("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    pids = hc.get("PidsLimit")
    return Resources(
        memory=memory or None,
        memory_swap=(swap or (2 * memory if memory else 0)) or None,
        memory_reservation=reservation or None,
        cpu_quota=quota if quota > 0 else None,
        cpu_period=period or None,
        cpu_shares=int(hc.get("CpuShares") or 0) or None,
        cpuset_cpus=hc.get("CpusetCpus") or None,
        cpuset_mems=hc.get("CpusetMems") or None,
        pids_limit=int(pids) if pids and int(pids) > 0 else None,
    )


def sysctls(raw: Mapping[str, str] | None, host_network: bool, host_ipc: bool) -> tuple[tuple[str, str], ...]:
    """Namespaced sysctls only (Docker's list); others, or ones of a shared namespace, are refused."""
    out = []
    for key, value in (raw or {}).items():
        ipc = key in NAMESPACED_SYSCTLS or key.startswith("fs.mqueue.")
        if key.startswith("net."):
            if host_network:
                raise bad_request(f"sysctl '{key}' not allowed in host network namespace")
        elif not ipc:
            raise bad_request(f"sysctl '{key}' is not allowed: only namespaced sysctls (kernel.msg*, kernel.sem, "
                              "kernel.shm*, fs.mqueue.*, net.*) can be set in a container")
        elif host_ipc:
            raise bad_request(f"sysctl '{key}' not allowed with host IPC namespace")
        out.append((key, str(value)))
    return tuple(out)


def rlimits(ulimits: Sequence[Mapping[str, Any]] | None) -> tuple[Rlimit, ...]:
    from runtime.linux import rlimits as kernel_rlimits

    out = []
    for item in ulimits or ():
        name, soft, hard = str(item.get("Name") or ""), int(item.get("Soft", 0)), int(item.get("Hard", 0))
        try:
            kernel_rlimits.validate(name, soft, hard)
        except ValueError as exc:
            raise bad_request(str(exc)) from None
        out.append(Rlimit(name.lower().removeprefix("rlimit_"), soft, hard))
    return tuple(out)


def security_options(opts: Sequence[str] | None) -> tuple[bool, bool]:
    """(no_new_privileges, seccomp) from SecurityOpt; unsupported options are refused."""
    no_new_privs, seccomp = False, True
    for opt in opts or ():
        key, _, value = opt.partition("=") if "=" in opt else opt.partition(":")
        if key == "no-new-privileges":
            if value not in ("", "true", "false"):
                raise bad_request(f"invalid --security-opt 2: {opt!r}")
            no_new_privs = value != "false"
        elif key == "seccomp" and value == "unconfined":
            seccomp = False
        elif opt in IGNORED_SECURITY_OPTS:
            continue  # no AppArmor or SELinux here: unconfined is what we do anyway
        else:
            raise bad_request(f"security option {opt!r} is unsupported by this engine "
                              "(supported: no-new-privileges[:true|false], seccomp=unconfined)")
    return no_new_privs, seccomp


def oom_score_adj(value: Any) -> int | None:
    if value in (None, 0):
        return None
    number = int(value)
    if not -1000 <= number <= 1000:
        raise bad_request(f"Invalid value {number}, range for oom score adj is [-1000, 1000]")
    return number
