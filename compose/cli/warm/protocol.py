"""What the CLI client and server share: where the socket is, and how a request and its answers look.

Kept to the standard library's cheapest modules: the client imports this
on every command line, before it knows whether a server will answer.

A request is one message: the client's stdin, stdout and stderr as
SCM_RIGHTS, then a 4-byte length and the NUL-separated fields (version,
cwd, umask, the signals the client ignores, argc, argv…, environment
`K=V`…). The server answers with lines: `pid N` once the child runs, then
`exit N` or `signal N`. The child takes the client's dispositions for
SIGNALS (ignored, or Python's default), as a process of its own would
have inherited them, whatever the server's own were at its start.
"""

from __future__ import annotations

import _signal
import os
import sys
import zlib

VERSION = "2"
# What the client forwards to the child, and whose disposition the child takes from the client.
SIGNALS = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT, _signal.SIGWINCH, _signal.SIGUSR1,
           _signal.SIGUSR2)
DISABLE_ENV = "PYCOMPOSE_CLI_SERVER"
DIR_ENV = "PYCOMPOSE_CLI_DIR"
IDLE_ENV = "PYCOMPOSE_CLI_SERVER_IDLE"
DEFAULT_IDLE = 600.0
SOCKET_PATH_MAX = 107


def enabled() -> bool:
    return os.environ.get(DISABLE_ENV, "").lower() not in ("0", "off", "no", "false")


def socket_dir() -> str | None:
    """Our private directory for sockets (created 0700); None when it is not safely ours."""
    chosen = os.environ.get(DIR_ENV)
    if not chosen:
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        chosen = os.path.join(runtime, "pycompose-cli") if runtime else f"/tmp/pycompose-cli-{os.getuid()}"
    try:
        os.makedirs(chosen, mode=0o700, exist_ok=True)
        st = os.stat(chosen)
    except OSError:
        return None
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None  # someone else's, or open to others: a server there could be anyone's
    return chosen


def _newest_mtime(root: str) -> int:
    newest = 0
    stack = [root]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            if entry.name == "__pycache__":
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
            elif entry.name.endswith(".py") or entry.name.endswith(".json"):
                newest = max(newest, entry.stat().st_mtime_ns)
    return newest


def server_key() -> str:
    """The interpreter and the code the server must have loaded: their change means another server."""
    package = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sites = [p for p in sys.path if p.endswith("site-packages")]
    stamps = [_newest_mtime(package)]
    for site in sites:
        try:  # noqa: SIM105 - contextlib is one import more on every command line's path
            stamps.append(os.stat(site).st_mtime_ns)
        except OSError:
            pass
    identity = "\0".join([sys.executable, sys.version, package, *sites]).encode()
    return f"{zlib.crc32(identity):08x}-{zlib.crc32(repr(stamps).encode()):08x}"


def socket_path(directory: str, key: str) -> str | None:
    path = os.path.join(directory, f"{key}.sock")
    return path if len(os.fsencode(path)) <= SOCKET_PATH_MAX else None


def encode_request(argv: list[str], cwd: str, umask: int, environ: dict[str, str], ignored: list[int]) -> bytes:
    fields = [VERSION, cwd, str(umask), ",".join(map(str, ignored)), str(len(argv)), *argv,
              *(f"{k}={v}" for k, v in environ.items())]
    payload = b"\0".join(os.fsencode(f) for f in fields)
    return len(payload).to_bytes(4, "big") + payload


def decode_request(payload: bytes) -> tuple[list[str], str, int, dict[str, str], frozenset[int]]:
    fields = [os.fsdecode(f) for f in payload.split(b"\0")]
    if fields[0] != VERSION:
        raise ValueError(f"CLI protocol version {fields[0]!r}, expected {VERSION}")
    cwd, umask, argc = fields[1], int(fields[2]), int(fields[4])
    ignored = frozenset(int(n) for n in fields[3].split(",") if n)
    argv = fields[5 : 5 + argc]
    environ = dict(item.partition("=")[::2] for item in fields[5 + argc :] if "=" in item)
    return argv, cwd, umask, environ, ignored
