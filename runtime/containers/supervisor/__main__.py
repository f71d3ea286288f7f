"""`python -m runtime.containers.supervisor --root R --prefix P [--notify-fd N] [--holder-fd H]`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from runtime.containers.supervisor.main import AlreadyRunning, Supervisor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime.containers.supervisor")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--notify-fd", type=int, default=None, help="write 'READY <pid>' here once listening")
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--holder-fd", type=int, default=None, help="our holder's end (holder.py, keep.py)")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=getattr(logging, args.log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s supervisor[%(process)d]: %(message)s")
    supervisor = Supervisor(args.root.absolute(), args.prefix, args.holder_fd)
    try:
        supervisor.open()
    except AlreadyRunning as exc:
        logging.getLogger("pycompose.supervisor").error("%s", exc)
        _notify(args.notify_fd, f"ERROR {exc}")
        return 1
    _notify(args.notify_fd, f"READY {os.getpid()}")
    try:
        supervisor.serve()
    finally:
        supervisor.close()
    return 0


def _notify(fd: int | None, text: str) -> None:
    if fd is None:
        return
    try:
        os.write(fd, text.encode() + b"\n")
        os.close(fd)
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main())
