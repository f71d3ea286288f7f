"""`python -m runtime --root R --host unix:///path --log-level L`: the engine daemon.

`-H/--host` may be given several times (unix:// and tcp://); `--tls`,
`--tlsverify`, `--tlscacert`, `--tlscert`, `--tlskey` are dockerd's (runtime/listen.py).

`--api-idle-timeout` and `--api-max-connections` default to the environment's
PYCOMPOSE_API_IDLE_TIMEOUT and PYCOMPOSE_API_MAX_CONNECTIONS (so `pycompose
engine start` passes them on), else 90 s and a limit derived from RLIMIT_NOFILE.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from runtime.daemon import DEFAULT_HOST, DEFAULT_ROOT, LOG_LEVELS, DaemonConfig, run
from runtime.listen import ListenError, check_plain_tcp, parse_listen, server_tls


def main(argv: list[str] | None = None) -> int:
    return run(parse_config(argv))


def parse_config(argv: list[str] | None = None) -> DaemonConfig:
    """The daemon's settings from its command line (and environment); exits 2 on a bad one."""
    parser = argparse.ArgumentParser(prog="python -m runtime", description="The pycompose engine daemon.")
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("PYCOMPOSE_ENGINE_ROOT") or DEFAULT_ROOT))
    parser.add_argument("--host", "-H", action="append", default=None,
                        help=f"unix:///path or tcp://addr:port, repeatable (default {DEFAULT_HOST})")
    parser.add_argument("--tls", action="store_true", help="use TLS on tcp listeners (implied by --tlsverify)")
    parser.add_argument("--tlsverify", action="store_true", help="use TLS and require a client certificate")
    parser.add_argument("--tlscacert", default=None, help="trust client certificates signed by this CA")
    parser.add_argument("--tlscert", default=None, help="the engine's TLS certificate")
    parser.add_argument("--tlskey", default=None, help="the engine's TLS key")
    parser.add_argument("--log-level", "-l", choices=sorted(LOG_LEVELS), default="info")
    parser.add_argument("--notify-fd", type=int, default=None, help="write READY=1 here once serving")
    parser.add_argument("--api-idle-timeout", type=_seconds, metavar="SECONDS",
                        default=os.environ.get("PYCOMPOSE_API_IDLE_TIMEOUT") or "90",
                        help="close an API connection that waits this long for a request (default 90)")
    parser.add_argument("--api-max-connections", type=_count, metavar="N",
                        default=os.environ.get("PYCOMPOSE_API_MAX_CONNECTIONS") or "0",
                        help="API connections open at once (default 0: from the file-descriptor limit)")
    args = parser.parse_args(argv)
    try:
        tls = server_tls(args.tls, args.tlsverify, args.tlscacert, args.tlscert, args.tlskey)
        addresses = [parse_listen(host, tls is not None) for host in args.host or [DEFAULT_HOST]]
        for address in addresses:
            check_plain_tcp(address, tls)
    except ListenError as exc:
        parser.error(str(exc))
    first = next((a for a in addresses if a.path is not None), None)
    return DaemonConfig(args.root.absolute(), first.path if first else None, args.log_level, args.notify_fd,
                        args.api_idle_timeout, args.api_max_connections,
                        tuple(a for a in addresses if a is not first), tls)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count (0 or more)")
    return value


if __name__ == "__main__":
    sys.exit(main())
