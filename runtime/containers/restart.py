"""Restart policies: no, always, on-failure[:N], unless-stopped, with Docker's back-off.

Decisions only; the manager applies them when a container exits and at
engine boot. The back-off is Docker's: the first restart waits 100 ms, each
next one twice as long up to one minute, and a run of 10 s or more resets
it. A manual stop (`docker stop`/`kill`) silences every policy until the
next start; at boot `always` restarts even a manually stopped container
(Docker's "restarted when the daemon restarts"), `unless-stopped` does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runtime.errors import bad_request

POLICIES = ("no", "always", "on-failure", "unless-stopped")
FIRST_DELAY = 0.1
MAX_DELAY = 60.0
RESET_AFTER = 10.0


@dataclass(frozen=True)
class Policy:
    name: str = "no"
    maximum_retry_count: int = 0

    @classmethod
    def of(cls, host_config: Mapping[str, Any]) -> Policy:
        raw = host_config.get("RestartPolicy") or {}
        return cls(str(raw.get("Name") or "no"), int(raw.get("MaximumRetryCount") or 0))

    def docker(self) -> dict[str, Any]:
        return {"Name": self.name, "MaximumRetryCount": self.maximum_retry_count}


def validate(raw: Mapping[str, Any] | None, auto_remove: bool) -> Policy:
    """The request's RestartPolicy, checked with Docker's messages."""
    raw = raw or {}
    name = str(raw.get("Name") or "no")
    try:
        count = int(raw.get("MaximumRetryCount") or 0)
    except (TypeError, ValueError):
        raise bad_request("invalid restart policy: maximum retry count must be a number") from None
    if name not in POLICIES:
        raise bad_request(
            f"invalid restart policy: unknown policy '{name}'; use one of 'no', 'always', 'on-failure', "
            "or 'unless-stopped'"
        )
    if count < 0:
        raise bad_request("invalid restart policy: maximum retry count cannot be negative")
    if count and name != "on-failure":
        raise bad_request("invalid restart policy: maximum retry count can only be used with 'on-failure'")
    if auto_remove and name != "no":
        raise bad_request("conflicting options: cannot specify both --restart and --rm")
    return Policy(name, count)


def should_restart(policy: Policy, exit_code: int, manually_stopped: bool, restart_count: int) -> bool:
    """Whether a container that just exited restarts (engine running, not at boot)."""
    if manually_stopped:
        return False
    if policy.name in ("always", "unless-stopped"):
        return True
    if policy.name == "on-failure":
        under_limit = policy.maximum_retry_count == 0 or restart_count < policy.maximum_retry_count
        return exit_code != 0 and under_limit
    return False


def restart_at_boot(policy: Policy, exit_code: int, manually_stopped: bool, restart_count: int) -> bool:
    """Whether a container found not running at engine boot is started again."""
    if policy.name == "always":
        return True
    if policy.name == "unless-stopped":
        return not manually_stopped
    if policy.name == "on-failure":
        return should_restart(policy, exit_code, manually_stopped, restart_count)
    return False


@dataclass
class Backoff:
    """The delay before the next restart of one container."""

    delay: float = 0.0

    def next(self, ran_for: float) -> float:
        if ran_for >= RESET_AFTER:
            self.delay = 0.0
        self.delay = FIRST_DELAY if self.delay == 0.0 else min(self.delay * 2, MAX_DELAY)
        return self.delay

    def reset(self) -> None:
        self.delay = 0.0
