"""What boot finds: each record against the supervisor's state of it (adopt.match, no kernel)."""

from __future__ import annotations

from runtime.containers.adopt import LOST_EXIT_CODE, match
from tests.runtime.containers.fakes import FakeState
from tests.runtime.containers.test_records import record


def test_each_record_is_seen_as_the_supervisor_has_it() -> None:
    running, gate, exited, lost = (record(c * 64, n) for c, n in (("a", "run"), ("b", "gate"), ("c", "ex"),
                                                                    ("d", "lost")))
    states = {
        running.id: FakeState(running.id, "running", pid=42),
        gate.id: FakeState(gate.id, "created", pid=43),
        exited.id: FakeState(exited.id, "exited", exit_code=3, oom_killed=True, finished_at="2024-01-02T00:00:00Z"),
        "e" * 64: FakeState("e" * 64, "running", pid=44),
    }
    found = match([running, gate, exited, lost], states)
    seen = {s.record.name: s for s in found.containers}
    assert (seen["run"].kind, seen["run"].pid) == ("running", 42)
    assert seen["gate"].kind == "gate"
    assert (seen["ex"].kind, seen["ex"].exit_code, seen["ex"].oom_killed) == ("exited", 3, True)
    assert seen["ex"].finished_at == "2024-01-02T00:00:00Z"
    assert (seen["lost"].kind, seen["lost"].exit_code) == ("lost", LOST_EXIT_CODE)
    assert seen["lost"].finished_at
    assert found.orphans == ("e" * 64,)
