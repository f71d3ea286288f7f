"""System routes: /_ping, /version, /info.

The docker CLI and docker-py negotiate the API version from /_ping's
headers and print /version and /info field by field, so the shapes follow
Docker's; the values describe this engine and this host.
"""

from __future__ import annotations

import datetime
import logging
import os
import platform
import socket
import threading
from pathlib import Path
from typing import Any

import anyio.to_thread

from runtime.api.http import Request, Response, json_response
from runtime.api.router import API_VERSION, MIN_API_VERSION, Route
from runtime.engine import Engine

PLATFORM_NAME = "pycompose engine"
# Python's machine names as Go's GOARCH, which is what Docker reports.
_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "i386": "386"}


def server_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pycompose")
    except PackageNotFoundError:
        return "0.0.0+unknown"


def common_headers(version: str) -> list[tuple[str, str]]:
    """What Docker's middleware puts on every response."""
    return [("Server", f"pycompose/{version} (linux)"), ("Api-Version", API_VERSION), ("Ostype", "linux")]


async def ping(engine: Engine, request: Request) -> Response:
    headers = [
        ("Api-Version", API_VERSION),
        ("Builder-Version", "1"),
        ("Docker-Experimental", "false"),
        ("Ostype", "linux"),
        ("Swarm", "inactive"),
        ("Cache-Control", "no-cache, no-store, must-revalidate"),
        ("Pragma", "no-cache"),
        ("Content-Type", "text/plain; charset=utf-8"),
    ]
    return Response(200, b"" if request.method == "HEAD" else b"OK", headers)


async def version(engine: Engine, request: Request) -> Response:
    return json_response(version_document())


def version_document() -> dict[str, Any]:
    details = {
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": f"python{platform.python_version()}",
        "Os": "linux",
        "Arch": go_arch(),
        "KernelVersion": os.uname().release,
        "BuildTime": "",
    }
    engine_version = server_version()
    return {
        "Platform": {"Name": PLATFORM_NAME},
        "Components": [
            # The docker CLI reads Details as map[string]string: strings only.
            {"Name": "Engine", "Version": engine_version, "Details": {**details, "Experimental": "false"}}
        ],
        "Version": engine_version,
        **details,
        "Experimental": False,
    }


async def info(engine: Engine, request: Request) -> Response:
    return json_response(await anyio.to_thread.run_sync(info_document, engine))


def info_document(engine: Engine) -> dict[str, Any]:
    release = os_release()
    return {
        "ID": engine.id,
        **engine.container_counts(),
        "Images": len(engine.images.list_summaries(True, {})),
        "Driver": "overlay2",
        "DriverStatus": [],
        "Plugins": {
            "Volume": ["local"],
            "Network": ["bridge", "host", "null"],
            "Authorization": None,
            "Log": ["json-file", "local"],  # as dockerd, "none" is not listed
        },
        "MemoryLimit": True,
        "SwapLimit": False,
        "KernelMemoryTCP": False,
        "CpuCfsPeriod": True,
        "CpuCfsQuota": True,
        "CPUShares": True,
        "CPUSet": True,
        "PidsLimit": True,
        "OomKillDisable": False,
        "IPv4Forwarding": read_flag("/proc/sys/net/ipv4/ip_forward"),
        "BridgeNfIptables": read_flag("/proc/sys/net/bridge/bridge-nf-call-iptables"),
        "BridgeNfIp6tables": read_flag("/proc/sys/net/bridge/bridge-nf-call-ip6tables"),
        "Debug": logging.getLogger("pycompose").isEnabledFor(logging.DEBUG),
        "NFd": _count_fds(),
        "NGoroutines": threading.active_count(),
        "SystemTime": datetime.datetime.now().astimezone().isoformat(),
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": cgroup_version(),
        "NEventsListener": 0,
        "KernelVersion": os.uname().release,
        "OperatingSystem": release.get("PRETTY_NAME", "Linux"),
        "OSVersion": release.get("VERSION_ID", ""),
        "OSType": "linux",
        "Architecture": os.uname().machine,
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {
            "InsecureRegistryCIDRs": ["::1/128", "127.0.0.0/8"],
            "IndexConfigs": {
                "docker.io": {"Name": "docker.io", "Mirrors": [], "Secure": True, "Official": True}
            },
            "Mirrors": [],
        },
        "NCPU": len(os.sched_getaffinity(0)),
        "MemTotal": mem_total(),
        "GenericResources": None,
        "DockerRootDir": str(engine.root),
        "HttpProxy": os.environ.get("HTTP_PROXY", os.environ.get("http_proxy", "")),
        "HttpsProxy": os.environ.get("HTTPS_PROXY", os.environ.get("https_proxy", "")),
        "NoProxy": os.environ.get("NO_PROXY", os.environ.get("no_proxy", "")),
        "Name": socket.gethostname(),
        "Labels": [],
        "ExperimentalBuild": False,
        "ServerVersion": server_version(),
        "Runtimes": {"pycompose": {"path": "pycompose"}},
        "DefaultRuntime": "pycompose",
        "Swarm": {
            "NodeID": "",
            "NodeAddr": "",
            "LocalNodeState": "inactive",
            "ControlAvailable": False,
            "Error": "",
            "RemoteManagers": None,
        },
        "LiveRestoreEnabled": False,
        "Isolation": "",
        "InitBinary": "",
        "ContainerdCommit": {"ID": ""},
        "RuncCommit": {"ID": ""},
        "InitCommit": {"ID": ""},
        "SecurityOptions": ["name=seccomp,profile=builtin"],
        "ProductLicense": "",
        "DefaultAddressPools": [],
        "Warnings": [],
        "CDISpecDirs": [],
    }


def go_arch() -> str:
    machine = os.uname().machine
    return _GOARCH.get(machine, machine)


def cgroup_version() -> str:
    # A v2-only host has controllers at the root of /sys/fs/cgroup; a hybrid
    # one keeps them on v1, which is what the engine will use there.
    return "2" if Path("/sys/fs/cgroup/cgroup.controllers").exists() else "1"


def os_release() -> dict[str, str]:
    for candidate in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            text = Path(candidate).read_text()
        except OSError:
            continue
        pairs = (line.partition("=") for line in text.splitlines() if "=" in line)
        return {key.strip(): value.strip().strip("\"'") for key, _, value in pairs}
    return {}


def mem_total() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def read_flag(path: str) -> bool:
    try:
        return Path(path).read_text().strip() == "1"
    except OSError:
        return False


def _count_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 0


ROUTES: tuple[Route[Engine], ...] = (
    Route("GET", "/_ping", ping),
    Route("HEAD", "/_ping", ping),
    Route("GET", "/version", version),
    Route("GET", "/info", info),
)
