"""Resource limits (ulimits) of a container's process: validation (pure) and setrlimit (the child).

Names are Docker's `--ulimit` names (RLIMIT_<NAME> lower-cased); -1 means
unlimited. Raising a hard limit needs CAP_SYS_RESOURCE (and nofile is also
capped by fs.nr_open): when the kernel refuses, the limit is clamped to the
current hard limit instead of failing the container.
"""

from __future__ import annotations

import resource
from collections.abc import Sequence

from runtime.spec import Rlimit

NAMES: dict[str, int] = {
    "as": resource.RLIMIT_AS,
    "core": resource.RLIMIT_CORE,
    "cpu": resource.RLIMIT_CPU,
    "data": resource.RLIMIT_DATA,
    "fsize": resource.RLIMIT_FSIZE,
    "locks": getattr(resource, "RLIMIT_LOCKS", 10),  # Python does not export it; 10 on Linux
    "memlock": resource.RLIMIT_MEMLOCK,
    "msgqueue": resource.RLIMIT_MSGQUEUE,
    "nice": resource.RLIMIT_NICE,
    "nofile": resource.RLIMIT_NOFILE,
    "nproc": resource.RLIMIT_NPROC,
    "rss": resource.RLIMIT_RSS,
    "rtprio": resource.RLIMIT_RTPRIO,
    "rttime": resource.RLIMIT_RTTIME,
    "sigpending": resource.RLIMIT_SIGPENDING,
    "stack": resource.RLIMIT_STACK,
}

INFINITY = resource.RLIM_INFINITY  # -1 in Python on Linux
_UNLIMITED = 2**63 - 1  # -1 / RLIM_INFINITY / anything this big, for comparisons


def _size(value: int) -> int:
    return _UNLIMITED if value < 0 or value >= _UNLIMITED else value


def _kernel_value(size: int) -> int:
    return INFINITY if size >= _UNLIMITED else size


def _resource(name: str) -> int:
    key = name.lower().removeprefix("rlimit_")
    if key not in NAMES:
        raise ValueError(f"unknown ulimit {name!r}: expected one of {', '.join(sorted(NAMES))}")
    return NAMES[key]


def validate(name: str, soft: int, hard: int) -> None:
    """ValueError for an unknown name or a soft limit above the hard one (-1 = unlimited)."""
    _resource(name)
    if _size(soft) > _size(hard):
        raise ValueError(f"ulimit {name}: soft limit {soft} is greater than hard limit {hard}")


def apply(rlimits: Sequence[Rlimit]) -> None:
    """setrlimit each limit in this process; values the kernel refuses are clamped to the current hard limit."""
    for limit in rlimits:
        validate(limit.name, limit.soft, limit.hard)
        which = _resource(limit.name)
        soft, hard = _size(limit.soft), _size(limit.hard)
        try:
            resource.setrlimit(which, (_kernel_value(soft), _kernel_value(hard)))
        except (ValueError, OSError):
            hard = min(hard, _size(resource.getrlimit(which)[1]))
            resource.setrlimit(which, (_kernel_value(min(soft, hard)), _kernel_value(hard)))
