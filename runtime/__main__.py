"""`python -m runtime --root R --host unix:///path --log-level L`: the engine daemon."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from runtime.daemon import DEFAULT_HOST, DEFAULT_ROOT, LOG_LEVELS, DaemonConfig, DaemonError, run, socket_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime", description="The pycompose engine daemon.")
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("PYCOMPOSE_ENGINE_ROOT") or DEFAULT_ROOT))
    parser.add_argument("--host", "-H", default=DEFAULT_HOST, help="unix:///path/to/engine.sock")
    parser.add_argument("--log-level", "-l", choices=sorted(LOG_LEVELS), default="info")
    parser.add_argument("--notify-fd", type=int, default=None, help="write READY=1 here once serving")
    args = parser.parse_args(argv)
    try:
        sock = socket_path(args.host)
    except DaemonError as exc:
        parser.error(str(exc))
    config = DaemonConfig(args.root.absolute(), sock, args.log_level, args.notify_fd)
    return run(config)


if __name__ == "__main__":
    sys.exit(main())
