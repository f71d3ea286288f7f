"""Child processes start with the signal dispositions a test relies on, whatever pytest inherited.

A test run from a shell's background job (`pytest &`, CI wrappers, nohup) inherits SIGINT and SIGQUIT
ignored, and an ignored signal stays ignored across fork and exec. A test that sends a signal to a
command, or sends none but means "as from a terminal", starts the command with `dispositions()`.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable

# The signals tests send, or that a shell's background job or nohup ignores.
SENT = (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP)


def dispositions(ignored: Iterable[int] = ()) -> Callable[[], None]:
    """A `preexec_fn`: SIG_IGN for `ignored`, the default for the other signals of SENT."""
    ignore = frozenset(ignored)

    def apply() -> None:
        for number in SENT:
            signal.signal(number, signal.SIG_IGN if number in ignore else signal.SIG_DFL)

    return apply


def ignored_by(pid: int) -> set[int]:
    """The signals process `pid` ignores (SigIgn in /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("SigIgn:"):
                mask = int(line.split()[1], 16)
                return {n for n in range(1, 65) if mask & (1 << (n - 1))}
    return set()
