"""Container networking on real containers: DNS, isolation, network modes, published ports, engine crash.

Traffic goes only to loopback, to the host's own addresses and to containers.
Debian's busybox nc has no UDP: UDP runs the host's Python inside the
containers (its /usr bind-mounted read-only).
"""

from __future__ import annotations

import http.server
import json
import os
import re
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compose.cli.engines import cli_env, stop_engine
from tests.engine_fixture import EngineHandle, start_private_engine
from tests.runtime.api.containers_env import (
    DOCKER,
    docker_env,
    eventually,
    import_busybox,
    inspect,
    out,
    private_engine,
    run,
)
from tests.runtime.images.busybox import busybox_available
from tests.runtime.network.kernel import host_address

__all__ = ["docker_env", "private_engine"]

pytestmark = [pytest.mark.root, pytest.mark.timeout(180)]

PYTHON = "/usr/bin/python3"
HOST_PYTHON = ("-v", "/usr:/usr:ro", "-v", "/usr/lib:/lib:ro", "-v", "/usr/lib64:/lib64:ro")
UDP_ECHO = (
    "import socket\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.bind(('0.0.0.0', 9000))\n"
    "while True:\n"
    "    d, p = s.recvfrom(512)\n"
    "    s.sendto(d.upper(), p)\n"
)
UDP_ASK = (
    "import socket, sys\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.settimeout(3)\n"
    "s.sendto(b'ping', (sys.argv[1], 9000))\n"
    "print(s.recvfrom(64)[0].decode())\n"
)
HTTPD = "mkdir -p /www && echo hello-$(hostname) > /www/index.html && exec busybox httpd -f -p 80 -h /www"
TCP_ECHO = "exec nc -ll -p 7000 -e sh -c 'read l; echo got-$l'"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("0.0.0.0", 0))
        return int(s.getsockname()[1])


def resolve(env: dict[str, str], network: str, name: str) -> list[str]:
    """Addresses of `name` as a fresh container on `network` resolves it (busybox nslookup)."""
    result = run(env, "run", "--rm", "--network", network, "busybox", "nslookup", name, check=False)
    text = result.stdout.decode()
    answers = text.split("Name:", 1)[1] if "Name:" in text else ""
    return re.findall(r"Address:\s*([0-9.]+)", answers)


def http_get(host: str, port: int, timeout: float = 5) -> str:
    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.sendall(f"GET /index.html HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        data = b""
        while chunk := conn.recv(4096):
            data += chunk
    return data.decode(errors="replace").split("\r\n\r\n", 1)[-1]


def udp_ask(host: str, port: int) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(b"ping", (host, port))
        return s.recvfrom(64)[0].decode()


@pytest.fixture(scope="module")
def nets(docker_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Two user networks `front` and `back`; removed with every container at the end."""
    env = docker_env
    run(env, "network", "create", "front")
    run(env, "network", "create", "back")
    try:
        yield env
    finally:
        ids = out(env, "ps", "-aq").split()
        if ids:
            run(env, "rm", "-f", *ids, check=False)
        run(env, "network", "rm", "front", "back", check=False)


def test_names_aliases_tcp_udp_and_isolation(nets: dict[str, str]) -> None:
    env = nets
    if not Path(PYTHON).exists():
        pytest.skip("the host has no /usr/bin/python3 for the UDP containers")
    run(env, "run", "-d", "--name", "alpha", "--network", "front", "--network-alias", "svc", "busybox",
        "sh", "-c", TCP_ECHO)
    run(env, "run", "-d", "--name", "udp1", "--network", "front", "--network-alias", "svc", *HOST_PYTHON,
        "busybox", PYTHON, "-I", "-c", UDP_ECHO)
    alpha = str(inspect(env, "alpha")["NetworkSettings"]["Networks"]["front"]["IPAddress"])  # type: ignore[index]
    udp1 = str(inspect(env, "udp1")["NetworkSettings"]["Networks"]["front"]["IPAddress"])  # type: ignore[index]
    assert resolve(env, "front", "alpha") == [alpha]
    assert sorted(resolve(env, "front", "svc")) == sorted([alpha, udp1])  # both replicas of an alias
    # TCP by name, UDP by alias of the other container.
    talk = run(env, "run", "--rm", "--network", "front", "busybox", "sh", "-c", "echo hi | nc -w 3 alpha 7000")
    assert talk.stdout.decode().strip() == "got-hi"
    udp = run(env, "run", "--rm", "--network", "front", *HOST_PYTHON, "busybox", PYTHON, "-I", "-c", UDP_ASK,
              "udp1")
    assert udp.stdout.decode().strip() == "PING"
    # Another network neither resolves nor reaches them.
    assert resolve(env, "back", "alpha") == []
    blocked = run(env, "run", "--rm", "--network", "back", "busybox", "sh", "-c",
                  f"echo hi | nc -w 2 {alpha} 7000", check=False)
    assert b"got-hi" not in blocked.stdout
    # No names on the default bridge, as in Docker.
    assert resolve(env, "bridge", "alpha") == []


def test_container_network_mode_shares_the_peer_ip(nets: dict[str, str]) -> None:
    env = nets
    run(env, "run", "-d", "--name", "peer", "--network", "front", "busybox", "sleep", "600")
    peer_ip = str(inspect(env, "peer")["NetworkSettings"]["Networks"]["front"]["IPAddress"])  # type: ignore[index]
    shown = out(env, "run", "--rm", "--network", "container:peer", "busybox", "ip", "-4", "-o", "addr")
    assert f"inet {peer_ip}/" in shown
    resolv = out(env, "run", "--rm", "--network", "container:peer", "busybox", "cat", "/etc/resolv.conf")
    assert "nameserver" in resolv


def test_none_mode_has_loopback_up(nets: dict[str, str]) -> None:
    shown = out(nets, "run", "--rm", "--network", "none", "busybox", "ip", "-o", "link")
    assert re.search(r"lo: <[^>]*\bUP\b", shown), shown
    assert "eth0" not in shown
    assert "pong" in out(nets, "run", "--rm", "--network", "none", "busybox", "sh", "-c",
                         "nc -l -p 5000 -e echo pong & sleep 0.3; nc -w 2 127.0.0.1 5000")


def test_internal_network_has_no_route_out(nets: dict[str, str]) -> None:
    env = nets
    run(env, "network", "create", "--internal", "inside")
    try:
        routes = out(env, "run", "--rm", "--network", "inside", "busybox", "ip", "route")
        assert "default" not in routes
        port = free_port()
        with _tcp_server("0.0.0.0", port):
            reached = run(env, "run", "--rm", "--network", "inside", "busybox", "sh", "-c",
                          f"echo x | nc -w 2 {host_address()} {port}", check=False)
        assert b"hello" not in reached.stdout
    finally:
        run(env, "network", "rm", "inside", check=False)


def test_host_gateway_reaches_a_server_on_the_host(nets: dict[str, str]) -> None:
    env = nets
    hosts = out(env, "run", "--rm", "--network", "front", "--add-host", "hostgw:host-gateway", "busybox",
                "cat", "/etc/hosts")
    gateway = next(line.split()[0] for line in hosts.splitlines() if line.endswith("\thostgw"))
    bridge = json.loads(out(env, "network", "inspect", "bridge"))[0]
    assert gateway == bridge["IPAM"]["Config"][0]["Gateway"]
    port = free_port()
    with _http_server(gateway, port, b"from-the-host"):
        got = out(env, "run", "--rm", "--network", "front", "--add-host", "hostgw:host-gateway", "busybox",
                  "sh", "-c", f"timeout 5 wget -q -O- http://hostgw:{port}/")
    assert got == "from-the-host"


def test_published_ports_tcp_udp_and_ephemeral(nets: dict[str, str], private_engine: EngineHandle) -> None:
    env = nets
    fixed, udp_port = free_port(), free_port(socket.SOCK_DGRAM)
    udp = []
    if Path(PYTHON).exists():
        udp = ["-p", f"{udp_port}:9000/udp", *HOST_PYTHON]
    run(env, "run", "-d", "--name", "pub", "-p", f"{fixed}:80", "-p", "80", "-p", "127.0.0.1::81", *udp,
        "busybox", "sh", "-c", (f"{PYTHON} -I -c \"{UDP_ECHO}\" & " if udp else "") + HTTPD)
    eventually(lambda: _answers("127.0.0.1", fixed), timeout=10)
    assert http_get("127.0.0.1", fixed).startswith("hello-")
    assert http_get(host_address(), fixed).startswith("hello-")
    if udp:
        eventually(lambda: _udp_answers("127.0.0.1", udp_port), timeout=10)
        assert udp_ask(host_address(), udp_port) == "PING"
    # The ephemeral port, as docker port, our CLI and inspect report it.
    docker_lines = out(env, "port", "pub", "80/tcp").split()
    ephemeral = next(int(line.rsplit(":", 1)[1]) for line in docker_lines if not line.endswith(f":{fixed}"))
    ours = subprocess.run([str(Path(__file__).resolve().parents[3] / ".venv/bin/pycompose"), "container", "port",
                           "pub"], env={**os.environ, **env}, capture_output=True, text=True, timeout=30)
    assert f"80/tcp -> 0.0.0.0:{ephemeral}" in ours.stdout.splitlines(), ours.stderr
    assert any(line.startswith("81/tcp -> 127.0.0.1:") for line in ours.stdout.splitlines())
    ports = inspect(env, "pub")["NetworkSettings"]["Ports"]  # type: ignore[index]
    assert {"HostIp": "0.0.0.0", "HostPort": str(ephemeral)} in ports["80/tcp"]
    assert http_get("127.0.0.1", ephemeral).startswith("hello-")
    summary = out(env, "ps", "--filter", "name=pub", "--format", "{{.Ports}}")
    assert f"0.0.0.0:{fixed}->80/tcp" in summary
    # From another container, through the host's address.
    via_host = out(env, "run", "--rm", "--network", "back", "busybox", "sh", "-c",
                   f"timeout 5 wget -q -O- http://{host_address()}:{fixed}/index.html")
    assert via_host.startswith("hello-")
    # A taken port is a clear error at start, and nothing is left of the container's networking.
    links_before = _links(private_engine.prefix)
    failed = run(env, "run", "-d", "--name", "clash", "-p", f"{fixed}:80", "busybox", "sleep", "60", check=False)
    assert failed.returncode != 0
    assert f"Bind for 0.0.0.0:{fixed} failed: port is already allocated" in failed.stderr.decode()
    assert _links(private_engine.prefix) == links_before
    run(env, "rm", "-f", "clash", "pub")
    eventually(lambda: not _answers("127.0.0.1", fixed), timeout=10)
    assert f". {fixed} :" not in _nft(private_engine.prefix)


def test_cleanup_leaves_only_the_default_bridge(nets: dict[str, str], private_engine: EngineHandle) -> None:
    env = nets
    run(env, "network", "create", "tmpnet")
    run(env, "run", "-d", "--name", "short", "--network", "tmpnet", "-p", "80", "busybox", "sleep", "600")
    prefix = private_engine.prefix
    assert any(name.startswith(prefix + "v") for name in _links(prefix))
    run(env, "rm", "-f", "short")
    run(env, "network", "rm", "tmpnet")
    ids = out(env, "ps", "-aq").split()
    if ids:
        run(env, "rm", "-f", *ids)
    eventually(lambda: not any(n.startswith(prefix + "v") for n in _links(prefix)), timeout=10,
               show=lambda: str(_links(prefix)))
    table = _nft(prefix)
    assert "elements" not in table.split("map pub_addr", 1)[1].split("}", 1)[0]
    assert "elements" not in table.split("map pub_any", 1)[1].split("}", 1)[0]


@pytest.mark.skipif(DOCKER is None, reason="no docker CLI on PATH")
@pytest.mark.skipif(not busybox_available(), reason="busybox-static is not installed")
def test_engine_kill_9_and_restart_restores_everything(tmp_path: Path) -> None:
    handle = start_private_engine(tmp_path / "crash")
    prefix = handle.prefix
    home = tmp_path / "home"
    home.mkdir()
    env = cli_env(home, handle)
    try:
        import_busybox(env, home)
        run(env, "network", "create", "one")
        run(env, "network", "create", "two")
        ports = [free_port() for _ in range(3)]
        for i, (name, network) in enumerate((("w1", "one"), ("w2", "one"), ("w3", "two"))):
            run(env, "run", "-d", "--name", name, "--network", network, "-p", f"{ports[i]}:80", "busybox",
                "sh", "-c", HTTPD)
        for port in ports:
            eventually(lambda p=port: _answers("127.0.0.1", p), timeout=10)  # type: ignore[misc]
        handle.process.send_signal(signal.SIGKILL)
        handle.process.wait(10)
        handle = start_private_engine(tmp_path / "crash")
        assert handle.prefix == prefix
        for port in ports:
            assert http_get("127.0.0.1", port).startswith("hello-")
        assert len(resolve(env, "one", "w2")) == 1
        assert len(resolve(env, "two", "w3")) == 1
        assert resolve(env, "two", "w1") == []
        # The host ports are held again: another container cannot take them.
        taken = run(env, "run", "-d", "--name", "thief", "-p", f"{ports[0]}:80", "busybox", "sleep", "9",
                    check=False)
        assert taken.returncode != 0 and b"port is already allocated" in taken.stderr
        run(env, "rm", "-f", "w1", "w2", "w3", "thief")
        run(env, "network", "rm", "one", "two")
        assert [n for n in _links(prefix) if not n.endswith("br0")] == []
    finally:
        if handle.process.poll() is None:
            ids = out(env, "ps", "-aq").split()
            if ids:
                run(env, "rm", "-f", *ids, check=False)
        stop_engine(handle)
    assert _links(prefix) == []
    assert prefix not in subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout


def _links(prefix: str) -> list[str]:
    return sorted(n for n in os.listdir("/sys/class/net") if n.startswith(prefix))


def _nft(prefix: str) -> str:
    return subprocess.run(["nft", "list", "table", "ip", prefix], capture_output=True, text=True).stdout


def _answers(host: str, port: int) -> bool:
    try:
        return http_get(host, port, timeout=1).startswith("hello-")
    except OSError:
        return False


def _udp_answers(host: str, port: int) -> bool:
    try:
        return udp_ask(host, port) == "PING"
    except OSError:
        return False


class _tcp_server:
    """A TCP server on the host that answers `hello` (to prove it is NOT reached)."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"hello\n")

    def __enter__(self) -> _tcp_server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


class _http_server:
    """A tiny HTTP server on one host address, answering `body` to every GET."""

    def __init__(self, host: str, port: int, body: bytes) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = http.server.ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _http_server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
