"""Network records: what the engine knows of each network, on disk and in memory.

One JSON file per network under `root/networks/<id>.json`, written whole
(write, rename; fsynced when the network is made), so a crash leaves the
old record or the new one.
The pool (subnet, gateway, who holds which address) is part of the record
and saved with it. Docker's three predefined networks are records too:
`bridge` (the default bridge, kernel objects like any other), `host` and
`none` (no kernel objects). Lookups follow Docker: full id, exact name,
then a unique id prefix.
"""

from __future__ import annotations

import datetime
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

from runtime.network.bridge import BridgeOptions, parse_driver_opts
from runtime.network.errors import NetworkError
from runtime.network.ipam import Pool
from runtime.network.ipam6 import Pool6
from runtime.store.durable import write_atomic

DEFAULT_NETWORK = "bridge"
PREDEFINED = ("bridge", "host", "none")
ZERO_TIME = "0001-01-01T00:00:00Z"


class NoSuchNetwork(NetworkError):
    status = 404

    def __init__(self, ref: str) -> None:
        super().__init__(f"network {ref} not found")


class AmbiguousNetwork(NetworkError):
    status = 400

    def __init__(self, ref: str, count: int) -> None:
        super().__init__(f"network {ref} is ambiguous ({count} matches found based on ID prefix)")


@dataclass
class NetworkRecord:
    id: str
    name: str
    driver: str  # "bridge", "host" or "null"
    created: str
    internal: bool = False
    attachable: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)  # driver_opts as given
    ipam_driver: str = "default"
    ipam_options: dict[str, str] = field(default_factory=dict)
    pool: dict[str, Any] | None = None  # Pool.to_json(); None for host/none
    bridge: str = ""  # the Linux bridge's name
    default: bool = False  # the engine's default bridge network "bridge"
    enable_ipv6: bool = False
    pool6: dict[str, Any] | None = None  # Pool6.to_json() of a dual-stack network

    @property
    def predefined(self) -> bool:
        return self.name in PREDEFINED and (self.default or self.driver in ("host", "null"))

    @property
    def user_defined(self) -> bool:
        """Docker's "user-defined network": a bridge network other than the default one (it gets DNS)."""
        return self.driver == "bridge" and not self.default

    def get_pool(self) -> Pool:
        assert self.pool is not None, f"network {self.name} has no address pool"
        return Pool.from_json(self.pool)

    def set_pool(self, pool: Pool) -> None:
        self.pool = pool.to_json()

    def get_pool6(self) -> Pool6 | None:
        return Pool6.from_json(self.pool6) if self.pool6 else None

    def set_pool6(self, pool: Pool6) -> None:
        self.pool6 = pool.to_json()

    @property
    def gateway6(self) -> IPv6Address | None:
        return IPv6Address(self.pool6["gateway"]) if self.pool6 else None

    @property
    def gateway(self) -> IPv4Address | None:
        return IPv4Address(self.pool["gateway"]) if self.pool else None

    def bridge_options(self) -> BridgeOptions:
        return parse_driver_opts(self.options)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def now_rfc3339() -> str:
    """UTC time with nanoseconds, as Docker prints a network's Created."""
    now = datetime.datetime.now(datetime.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond * 1000:09d}Z"


def new_network_id(taken: set[str]) -> str:
    while True:
        candidate = secrets.token_hex(32)
        if candidate not in taken and not candidate[:12].isdigit():
            return candidate


class NetworkStore:
    """Every network of an engine, on disk under `directory`, indexed in memory (event loop only)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._by_id: dict[str, NetworkRecord] = {}

    def load(self) -> list[str]:
        """Read every record; returns problems (unreadable records are skipped, not deleted)."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        problems = []
        for entry in sorted(os.scandir(self.directory), key=lambda e: e.name):
            if not entry.name.endswith(".json") or entry.name.startswith("."):
                continue
            try:
                record = NetworkRecord.from_dict(json.loads(Path(entry.path).read_bytes()))
            except (OSError, ValueError, TypeError, KeyError) as exc:
                problems.append(f"{entry.path}: {exc}")
                continue
            if self.find_name(record.name) is not None:
                problems.append(f"{entry.path}: name {record.name!r} used twice")
                continue
            self._by_id[record.id] = record
        return problems

    def __iter__(self) -> Iterator[NetworkRecord]:
        return iter(list(self._by_id.values()))

    def ids(self) -> set[str]:
        return set(self._by_id)

    def find_name(self, name: str) -> NetworkRecord | None:
        return next((r for r in self._by_id.values() if r.name == name), None)

    def get(self, ref: str) -> NetworkRecord:
        """Docker's lookup: full id, exact name, then a unique id prefix."""
        if not ref:
            raise NoSuchNetwork(ref)
        record = self._by_id.get(ref) or self.find_name(ref)
        if record is not None:
            return record
        matches = [r for i, r in self._by_id.items() if i.startswith(ref)]
        if len(matches) > 1:
            raise AmbiguousNetwork(ref, len(matches))
        if matches:
            return matches[0]
        raise NoSuchNetwork(ref)

    def find(self, ref: str) -> NetworkRecord | None:
        try:
            return self.get(ref)
        except NetworkError:
            return None

    def default(self) -> NetworkRecord | None:
        return next((r for r in self._by_id.values() if r.default), None)

    def add(self, record: NetworkRecord) -> None:
        self._by_id[record.id] = record
        self.save(record, durable=True)

    def save(self, record: NetworkRecord, durable: bool = False) -> None:
        """Write the record; updates are not fsynced: the boot reconciles the pools with what runs."""
        data = json.dumps(record.to_dict(), separators=(",", ":"), sort_keys=True).encode()
        write_atomic(self.directory / f"{record.id}.json", data, durable)

    def remove(self, record: NetworkRecord) -> None:
        self._by_id.pop(record.id, None)
        (self.directory / f"{record.id}.json").unlink(missing_ok=True)
