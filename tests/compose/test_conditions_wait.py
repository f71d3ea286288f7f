"""`up --wait` (running_or_healthy) counts a one-shot service that exited 0 as success."""

from __future__ import annotations

from compose.conditions import RUNNING_OR_HEALTHY, ContainerStatus, Verdict, evaluate


def test_exit_zero_is_success_and_other_exits_fail() -> None:
    done = ContainerStatus("p-job-1", "exited", exit_code=0, started_at=1.0, finished_at=2.0)
    assert evaluate(RUNNING_OR_HEALTHY, done).verdict is Verdict.MET
    assert evaluate(RUNNING_OR_HEALTHY, done).status == "Exited"
    failed = ContainerStatus("p-job-1", "exited", exit_code=2, started_at=1.0, finished_at=2.0)
    assert evaluate(RUNNING_OR_HEALTHY, failed).verdict is Verdict.FAILED


def test_a_stale_exit_from_before_the_start_is_not_success() -> None:
    restarted = ContainerStatus("p-job-1", "exited", exit_code=0, started_at=5.0, finished_at=2.0)
    assert evaluate(RUNNING_OR_HEALTHY, restarted).verdict is Verdict.PENDING
