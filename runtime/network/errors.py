"""Errors of the network layer, each an `EngineError` with the Docker status code the API answers with."""

from __future__ import annotations

from runtime.errors import DomainError


class NetworkError(DomainError):
    """Base of every error the network layer raises on purpose; `status` is Docker's HTTP code."""

    status = 500


class NetworkInvalid(NetworkError):
    """400: bad input (a subnet that is not one, a gateway outside its subnet, a bad port spec)."""

    status = 400


class NetworkConflict(NetworkError):
    """409 (Docker: 403 for pools): the request collides with something in use."""

    status = 409


class PoolOverlap(NetworkConflict):
    """A requested subnet overlaps a network of ours (Docker answers 403)."""

    status = 403


class AddressInUse(NetworkConflict):
    """A static address, or a whole pool, is taken."""


class PortAllocated(NetworkError):
    """A host port is taken; Docker reports it as a 500 from the driver with this wording."""

    def __init__(self, host_ip: str, host_port: int | str) -> None:
        super().__init__(f"Bind for {host_ip or '0.0.0.0'}:{host_port} failed: port is already allocated")
        self.host_ip = host_ip
        self.host_port = host_port


class KernelFailure(NetworkError):
    """500: netlink, nftables or a sysctl refused; `phase` names the step."""

    def __init__(self, phase: str, message: str) -> None:
        super().__init__(f"{phase}: {message}")
        self.phase = phase
