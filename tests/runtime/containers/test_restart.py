"""Restart policies and Docker's back-off."""

from __future__ import annotations

import pytest

from runtime.containers.restart import Backoff, Policy, restart_at_boot, should_restart, validate
from runtime.errors import EngineError


def test_validation() -> None:
    assert validate(None, False) == Policy("no", 0)
    assert validate({"Name": "on-failure", "MaximumRetryCount": 3}, False) == Policy("on-failure", 3)
    for raw, auto_remove, text in (
        ({"Name": "sometimes"}, False, "unknown policy 'sometimes'"),
        ({"Name": "on-failure", "MaximumRetryCount": -1}, False, "cannot be negative"),
        ({"Name": "always", "MaximumRetryCount": 2}, False, "only be used with 'on-failure'"),
        ({"Name": "always"}, True, "--restart and --rm"),
    ):
        with pytest.raises(EngineError) as error:
            validate(raw, auto_remove)
        assert error.value.status == 400 and text in error.value.message


def test_decisions() -> None:
    always, unless, on_failure = Policy("always"), Policy("unless-stopped"), Policy("on-failure", 2)
    assert should_restart(always, 0, False, 5) and should_restart(unless, 0, False, 0)
    assert not should_restart(always, 0, True, 0)  # a manual stop silences every policy
    assert should_restart(on_failure, 1, False, 1) and not should_restart(on_failure, 1, False, 2)
    assert not should_restart(on_failure, 0, False, 0) and not should_restart(Policy("no"), 1, False, 0)
    assert should_restart(Policy("on-failure"), 1, False, 1000)  # no maximum
    # At boot `always` comes back even after a manual stop; `unless-stopped` does not.
    assert restart_at_boot(always, 0, True, 0) and not restart_at_boot(unless, 0, True, 0)
    assert restart_at_boot(unless, 0, False, 0) and not restart_at_boot(Policy("no"), 1, False, 0)


def test_backoff_doubles_caps_and_resets() -> None:
    backoff = Backoff()
    delays = [backoff.next(0.5) for _ in range(12)]
    assert delays[:4] == [0.1, 0.2, 0.4, 0.8] and delays[-1] == 60.0
    assert backoff.next(10.0) == 0.1  # ran long enough: from the start
