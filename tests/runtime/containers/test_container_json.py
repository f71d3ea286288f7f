"""Status text of `docker ps`, as Docker's go-units writes it."""

from __future__ import annotations

import pytest

from runtime.containers.container_json import human_duration


@pytest.mark.parametrize(("seconds", "text"), [
    (0.5, "Less than a second"), (59, "59 seconds"), (90, "About a minute"), (9000, "3 hours"),
    (5400, "2 hours"), (3 * 86400, "3 days"), (3 * 365 * 86400, "3 years"),
])
def test_human_duration_rounds_hours_half_up(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text
