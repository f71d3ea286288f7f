"""The engine daemon in the foreground: socket, pidfile, signals, shutdown.

Start-up stays single-threaded until the event loop runs: the container
supervisor will be forked from here, and a fork taken after any thread
exists inherits locks it can never release (and cannot setns into a mount
namespace). Heavy modules (image store, tar, sqlite) load on first use.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from runtime.engine import Engine, EngineStateError
from runtime.listen import ListenAddress, ListenError, ServerTLS, bind_tcp, ensure_group

if TYPE_CHECKING:
    import anyio
    import anyio.abc

    from runtime.containers.supervisor_client import SupervisorClient

DEFAULT_ROOT = Path("/var/lib/pycompose")
DEFAULT_HOST = "unix:///run/pycompose/engine.sock"
SOCKET_GROUP = "pycompose"
SOCKET_MODE = 0o660
LOG_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.CRITICAL,
}

log = logging.getLogger("pycompose.engine")


class DaemonError(Exception):
    """The daemon cannot start; the message is for the operator."""


@dataclass(frozen=True)
class DaemonConfig:
    root: Path
    socket: Path | None  # the first unix:// socket (None: only tcp listeners)
    log_level: str = "info"
    # Written "READY=1" and closed once the engine serves (`engine start` waits on it).
    notify_fd: int | None = None
    # API connections: seconds one may wait for its next request, and how many may be open (0: from RLIMIT_NOFILE).
    api_idle_timeout: float = 90.0
    api_max_connections: int = 0
    # More `-H` addresses (unix or tcp) beside `socket`, and TLS for the tcp ones.
    hosts: tuple[ListenAddress, ...] = ()
    tls: ServerTLS | None = None


def socket_path(host: str) -> Path:
    """`unix:///run/x.sock` (or a bare absolute path) -> the socket's path."""
    if host.startswith("unix://"):
        path = host[len("unix://") :]
    elif host.startswith("/"):
        path = host
    else:
        raise DaemonError(f"unsupported host {host!r}: the engine listens on unix:// sockets only")
    if not path.startswith("/"):
        raise DaemonError(f"socket path must be absolute: {host!r}")
    return Path(path)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=LOG_LEVELS[level],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # pyroute2 logs every netlink message at debug level: far too much even for a debug log.
    logging.getLogger("pyroute2").setLevel(max(LOG_LEVELS[level], logging.WARNING))


def run(config: DaemonConfig) -> int:
    """Run the engine until SIGTERM/SIGINT; 0 on a clean stop."""
    configure_logging(config.log_level)
    # Until the event loop installs its own handlers, a signal must still
    # unwind through the cleanup below instead of killing the process.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        engine = Engine.open(config.root)
        claim_pidfile(engine.pidfile)
    except (EngineStateError, DaemonError) as exc:
        log.error("%s", exc)
        return 1
    listeners: list[tuple[socket.socket, ListenAddress]] = []
    try:
        first = (ListenAddress(f"unix://{config.socket}", path=config.socket),) if config.socket else ()
        for address in (*first, *config.hosts):
            if address.path is not None:
                listeners.append((bind_socket(address.path), address))
            else:
                listeners.append((bind_tcp(address, listen_backlog()), address))
                if config.tls is None:
                    log.warning("listening on %s without TLS: anyone on this machine can reach it", address.host)
        # The container supervisor is forked here, before any thread exists
        # (the event loop's worker threads come later), so it can fork and
        # setns for container births, exec and health checks.
        start_supervisor(engine)
        import anyio

        where = ", ".join(address.host if address.is_tcp else f"unix://{address.path}" for _, address in listeners)
        log.info("engine %s listening on %s (root %s)", engine.prefix, where, engine.root)
        anyio.run(_serve, engine, listeners, config)
        log.info("engine %s stopped", engine.prefix)
        return 0
    except (DaemonError, ListenError) as exc:
        log.error("%s", exc)
        return 1
    except (SystemExit, KeyboardInterrupt):
        log.info("engine %s stopped", engine.prefix)
        return 0
    finally:
        for sock, address in listeners:
            sock.close()
            if address.path is not None:
                _unlink(address.path)
        # An idle supervisor goes with us; one with live containers stays (they keep running),
        # and so do the bridges and nftables rules they use.
        if listeners and stop_idle_supervisor(engine):
            remove_network_objects(engine)
        engine.close()
        _unlink(engine.pidfile)


def start_supervisor(engine: Engine) -> None:
    """Start this root's container supervisor (or find the live one), detached from us."""
    from runtime.containers.supervisor.launch import SupervisorStartError, ensure_supervisor

    try:
        pid = ensure_supervisor(engine.root, engine.prefix)
    except (SupervisorStartError, OSError) as exc:
        raise DaemonError(f"cannot start the container supervisor: {exc}") from exc
    log.debug("container supervisor pid %d", pid)


def stop_idle_supervisor(engine: Engine) -> bool:
    """Stop the supervisor unless containers live; True when none does any more."""
    from runtime.containers.supervisor.launch import stop_supervisor_if_idle

    try:
        if not stop_supervisor_if_idle(engine.root):
            log.info("container supervisor left running: containers are still alive")
            return False
    except OSError as exc:
        log.warning("cannot stop the container supervisor: %s", exc)
        return False
    return True


def remove_network_objects(engine: Engine) -> None:
    """No container lives: the bridges and the nftables table go (the next start makes them again)."""
    from runtime.network.errors import NetworkError
    from runtime.network.manager import remove_kernel_objects

    try:
        remove_kernel_objects(engine.prefix)
    except (NetworkError, OSError) as exc:
        log.warning("cannot remove the engine's bridges and nftables rules: %s", exc)


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


async def _serve(engine: Engine, socks: list[tuple[socket.socket, ListenAddress]], config: DaemonConfig) -> None:
    import anyio
    import anyio.abc

    from runtime.api.app import build_app
    from runtime.api.server import serve, tls_wrapper
    from runtime.connections import ConnectionLimits
    from runtime.listen import server_context

    app = build_app(engine)
    listeners = [(await anyio.abc.SocketListener.from_socket(sock), address) for sock, address in socks]
    wrap = tls_wrapper(server_context(config.tls)) if config.tls is not None else None
    client = await _connect_supervisor(engine)
    async with contextlib.AsyncExitStack() as stack, anyio.create_task_group() as tasks:
        for listener, _ in listeners:
            await stack.enter_async_context(listener)
        # Signals are handled by the loop before anyone is told we are ready.
        await tasks.start(_stop_on_signal, tasks.cancel_scope)
        # Networks first: containers re-adopted next find their bridges, rules and DNS server.
        await tasks.start(_run_networks, engine)
        # Containers are re-adopted from the supervisor before we serve.
        await tasks.start(_run_containers, engine, client)
        if config.notify_fd is not None:
            _notify_ready(config.notify_fd)
        limits = ConnectionLimits(config.api_idle_timeout, config.api_max_connections)
        for listener, address in listeners[1:]:
            tasks.start_soon(serve, listener, app, limits, wrap if address.is_tcp else None)
        await serve(listeners[0][0], app, limits, wrap if listeners[0][1].is_tcp else None)


async def _connect_supervisor(engine: Engine) -> SupervisorClient:
    from runtime.containers.supervisor_client import SupervisorClient

    try:
        return await SupervisorClient.connect(engine.root)
    except OSError as exc:
        raise DaemonError(f"cannot connect to the container supervisor: {exc}") from exc


async def _run_containers(
    engine: Engine, client: SupervisorClient, *, task_status: anyio.abc.TaskStatus[None]
) -> None:
    """Run the container manager over the supervisor connection until the engine stops."""
    import anyio

    from runtime.containers.manager import ContainerManager
    from runtime.containers.stores import Stores

    stores = Stores(engine.root, engine.prefix, lambda: engine.images, lambda: engine.volumes)
    try:
        engine.containers = ContainerManager(stores, client, engine.networks)
        await engine.containers.run(task_status=task_status)
    finally:
        engine.containers = None
        with anyio.CancelScope(shield=True):
            await client.aclose()


async def _run_networks(engine: Engine, *, task_status: anyio.abc.TaskStatus[None]) -> None:
    """Run the network manager (bridges, nftables, DNS) until the engine stops.

    If networking cannot start (no libnftables, no netlink), the engine still
    serves: containers then get none but their loopback."""
    import anyio

    from runtime.network.errors import NetworkError
    from runtime.network.manager import NetworkManager

    networks = engine.networks = NetworkManager(engine.root, engine.prefix)
    try:
        await networks.run(task_status=task_status)
    except (NetworkError, OSError) as exc:
        log.error("networking is not available: %s", exc)
        engine.networks = None
        task_status.started()
        await anyio.sleep_forever()
    finally:
        engine.networks = None


async def _stop_on_signal(scope: anyio.CancelScope, *, task_status: anyio.abc.TaskStatus[None]) -> None:
    import anyio

    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        task_status.started()
        async for signum in signals:
            log.info("received %s, shutting down", signal.Signals(signum).name)
            scope.cancel()
            return


def _notify_ready(fd: int) -> None:
    try:
        os.write(fd, b"READY=1\n")
        os.close(fd)
    except OSError as exc:
        log.warning("cannot notify readiness on fd %d: %s", fd, exc.strerror)


def claim_pidfile(path: Path) -> None:
    """Write our pid to `path`, refusing if a live engine already holds it."""
    for _ in range(3):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            other = read_pid(path)
            if other is not None and other != os.getpid() and engine_alive(other):
                raise DaemonError(f"an engine is already running with this root (pid {other})") from None
            _unlink(path)
            continue
        with os.fdopen(fd, "w") as out:
            out.write(f"{os.getpid()}\n")
        return
    raise DaemonError(f"cannot claim pidfile {path}")


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def engine_alive(pid: int) -> bool:
    """Whether `pid` is a running engine daemon (not a recycled pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"runtime" in cmdline and b"-m" in cmdline


def bind_socket(path: Path) -> socket.socket:
    """The listening socket at `path`, mode 0660, group pycompose if it exists."""
    if len(os.fsencode(path)) > 107:
        raise DaemonError(f"socket path too long for AF_UNIX (max 107 bytes): {path}")
    if not path.parent.exists():
        path.parent.mkdir(mode=0o755, parents=True)
    _remove_stale_socket(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # bind() creates the file with the umask applied; set it so the socket is
    # never world-accessible, not even between bind and chmod.
    old_umask = os.umask(0o117)
    try:
        sock.bind(os.fspath(path))
    except OSError as exc:
        sock.close()
        raise DaemonError(f"cannot listen on {path}: {exc.strerror}") from exc
    finally:
        os.umask(old_umask)
    os.chmod(path, SOCKET_MODE)
    gid = ensure_group(SOCKET_GROUP)
    if gid is not None:
        os.chown(path, -1, gid)
    sock.listen(listen_backlog())
    return sock


def listen_backlog() -> int:
    """The kernel's largest listen backlog (as Go's net package uses): a flood of
    idle clients then waits there instead of making connect() fail with EAGAIN."""
    try:
        return max(128, int(Path("/proc/sys/net/core/somaxconn").read_text()))
    except (OSError, ValueError):
        return 4096


def _remove_stale_socket(path: Path) -> None:
    """A socket file nobody listens on is left from a crash: remove it."""
    if not path.is_socket():
        if path.exists() or path.is_symlink():
            raise DaemonError(f"{path} exists and is not a socket")
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(os.fspath(path))
    except OSError as exc:
        if exc.errno != errno.ECONNREFUSED:
            raise DaemonError(f"cannot check {path}: {exc.strerror}") from exc
        path.unlink()
        return
    finally:
        probe.close()
    raise DaemonError(f"another process is listening on {path}")


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)
