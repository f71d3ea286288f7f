"""The root of the compose layer's errors, and how a task group's failures unwrap.

Kept apart from compose/errors.py (which brings logging and dataclasses,
~15 ms to import) so the CLI's blocking paths — `container run`/`exec`
without a terminal — can raise and catch it without paying for them.
compose.errors re-exports it: import it from there everywhere else.
"""

from __future__ import annotations


class ComposeError(Exception):
    """Base of every error the compose layer reports to a user."""


def exception_leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    """The exceptions inside a (nested) exception group, as a task group raised them."""
    out: list[BaseException] = []
    for exc in group.exceptions:
        out += exception_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
    return out
