"""Network throughput and connection rate: host -> container through a published port vs the container's IP,
and container -> container on one bridge.

By default builds its own bare setup with runtime/network, exactly the
engine's kernel objects for two containers: a bridge, two netns each with a
veth (the "server" and the "client" container), the nftables table with the
network's rules and one published port. One sink runs in the server netns
(it reads until EOF and answers "ok"); the same client code measures every
path: from the host to the sink's address, to 127.0.0.1:<published>, to the
host's own address:<published>, and, run inside the client netns
(`--client`), from the other container to the sink's address. Each case
sends `--mb` MiB `--runs` times (median throughput) and opens `--conns`
short connections (connect, one byte, EOF, "ok"; connections per second).
Also times the setup steps. `--direct IP:PORT --published HOST:PORT`
measures given endpoints instead (e.g. a container of a running engine).
Needs root. Writes bench/results/net_bench.json.

    .venv/bin/python bench/net_bench.py [--mb 256] [--runs 5] [--conns 500]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from ipaddress import IPv4Interface
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import RESULTS, write_results
from runtime.network import nat
from runtime.network.bridge import EndpointConfig, Links, bridge_name, read_host_routes, veth_name
from runtime.network.ipam import plan_pool
from runtime.network.ports import PortReservations, PortSpec

MB = 1 << 20
SINK_PORT = 5001
SINK = (
    "import socket, threading\n"
    "s = socket.socket()\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    f"s.bind(('0.0.0.0', {SINK_PORT}))\n"
    "s.listen(128)\n"
    "print('ready', flush=True)\n"
    "def serve(c):\n"
    "    buf = bytearray(1 << 20)\n"
    "    while c.recv_into(buf):\n"
    "        pass\n"
    "    c.sendall(b'ok')\n"
    "    c.close()\n"
    "while True:\n"
    "    c, _ = s.accept()\n"
    "    threading.Thread(target=serve, args=(c,), daemon=True).start()\n"
)


def send(host: str, port: int, total: int) -> float:
    """Seconds to push `total` bytes and get the sink's "ok" after EOF."""
    chunk = b"\0" * MB
    with socket.create_connection((host, port), timeout=30) as s:
        start = time.perf_counter()
        left = total
        while left > 0:
            s.sendall(chunk[: min(left, MB)])
            left -= MB
        s.shutdown(socket.SHUT_WR)
        if s.recv(2) != b"ok":
            raise RuntimeError(f"sink at {host}:{port} did not confirm")
        return time.perf_counter() - start


def connection_rate(host: str, port: int, count: int) -> float:
    """Short connections per second: connect, one byte, EOF, wait for "ok", close."""
    start = time.perf_counter()
    for _ in range(count):
        with socket.create_connection((host, port), timeout=10) as s:
            s.sendall(b"x")
            s.shutdown(socket.SHUT_WR)
            if s.recv(2) != b"ok":
                raise RuntimeError(f"sink at {host}:{port} did not confirm")
    return count / (time.perf_counter() - start)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - start) * 1000


def measure_one(target: str, total: int, runs: int, conns: int) -> dict[str, float]:
    host, _, port_text = target.rpartition(":")
    port = int(port_text)
    send(host, port, 4 * MB)  # warm up ARP, conntrack, caches
    connection_rate(host, port, 20)
    median = statistics.median(send(host, port, total) for _ in range(runs))
    return {"median_s": median, "mib_per_s": total / MB / median, "runs": runs,
            "conns_per_s": connection_rate(host, port, conns)}


@contextmanager
def bare_setup(steps: dict[str, float]) -> Iterator[tuple[dict[str, str], str]]:
    """Two netns on one bridge, a sink in the first behind a published port.

    Yields the targets to measure from the host, and the client netns' name.
    """
    prefix = "pycb" + secrets.token_hex(2)[:3]
    server_ns, client_ns = "pycbench" + secrets.token_hex(3), "pycbench" + secrets.token_hex(3)
    pool = plan_pool(None, [], read_host_routes())
    server_ip = pool.interface(pool.allocate("server"))
    client_ip = pool.interface(pool.allocate("client"))
    br = bridge_name(prefix, 0)
    with ExitStack() as stack:
        for ns in (server_ns, client_ns):
            subprocess.run(["ip", "netns", "add", ns], check=True)
            stack.callback(subprocess.run, ["ip", "netns", "delete", ns], check=False)
        links = stack.enter_context(Links())
        stack.callback(links.remove_stale, prefix, ())
        links.links(prefix)  # import pyroute2 and open netlink outside the timings
        _, steps["bridge_ms"] = timed(lambda: links.ensure_bridge(br, pool.gateway_interface))
        server = EndpointConfig(br, veth_name(prefix, "server1"), f"/run/netns/{server_ns}", server_ip,
                                gateway=pool.gateway)
        client = EndpointConfig(br, veth_name(prefix, "client1"), f"/run/netns/{client_ns}", client_ip,
                                gateway=pool.gateway)
        _, steps["attach_ms"] = timed(lambda: links.attach(server))
        links.attach(client)
        stack.callback(nat.cleanup, prefix)
        table = nat.NatTable(prefix)
        stack.callback(table.nft.close)
        _, steps["nft_table_ms"] = timed(table.ensure)
        _, steps["nft_network_ms"] = timed(lambda: table.add_network(nat.NetworkRules(br, pool.subnet)))
        ports = stack.enter_context(_reservations())
        published = ports.reserve("bench", PortSpec(SINK_PORT))
        rule = nat.PortRule("tcp", "", published.host_port, server_ip.ip, SINK_PORT)
        _, steps["nft_port_ms"] = timed(lambda: table.add_port(rule))
        sink = subprocess.Popen(["ip", "netns", "exec", server_ns, sys.executable, "-I", "-S", "-c", SINK],
                                stdout=subprocess.PIPE, text=True)
        stack.callback(sink.wait)
        stack.callback(sink.kill)
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        yield {
            "host -> container ip": f"{server_ip.ip}:{SINK_PORT}",
            "host -> published 127.0.0.1": f"127.0.0.1:{published.host_port}",
            "host -> published host ip": f"{_host_ip()}:{published.host_port}",
        }, client_ns


@contextmanager
def _reservations() -> Iterator[PortReservations]:
    ports = PortReservations()
    try:
        yield ports
    finally:
        ports.close()


def _host_ip() -> str:
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        cols = line.split()
        if not cols[1].startswith("pyc"):
            return str(IPv4Interface(cols[3]).ip)
    return "127.0.0.1"


def from_netns(netns: str, target: str, mb: int, runs: int, conns: int) -> dict[str, float]:
    """The same client, run inside another netns (the second container)."""
    argv = ["ip", "netns", "exec", netns, sys.executable, str(Path(__file__).resolve()), "--client", target,
            "--mb", str(mb), "--runs", str(runs), "--conns", str(conns)]
    result: dict[str, float] = json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--conns", type=int, default=500, help="short connections per case (rate)")
    parser.add_argument("--direct", help="IP:PORT of a sink reached directly")
    parser.add_argument("--published", help="HOST:PORT of the same sink through a published port")
    parser.add_argument("--client", help=argparse.SUPPRESS)  # internal: measure one target, print JSON
    parser.add_argument("--out", type=Path, default=RESULTS / "net_bench.json")
    args = parser.parse_args()
    total = args.mb * MB
    if args.client:
        print(json.dumps(measure_one(args.client, total, args.runs, args.conns)))
        return 0
    if os.geteuid() != 0:
        print("needs root (netns, bridge, nftables)", file=sys.stderr)
        return 2
    steps: dict[str, float] = {}
    results: dict[str, dict[str, float]] = {}
    if args.direct and args.published:
        for name, target in (("host -> container ip", args.direct), ("host -> published", args.published)):
            results[name] = measure_one(target, total, args.runs, args.conns)
    else:
        with bare_setup(steps) as (targets, client_ns):
            for name, target in targets.items():
                results[name] = measure_one(target, total, args.runs, args.conns)
            direct = targets["host -> container ip"]
            results["container -> container (bridge)"] = from_netns(client_ns, direct, args.mb, args.runs,
                                                                    args.conns)
    print(f"{'case':<34} {'MiB/s':>9} {'median s':>9} {'conn/s':>8}")
    for name, r in results.items():
        print(f"{name:<34} {r['mib_per_s']:>9.0f} {r['median_s']:>9.3f} {r['conns_per_s']:>8.0f}")
    for name, ms in steps.items():
        print(f"{name:<34} {ms:>9.2f} ms")
    write_results("net_bench", {"mib": args.mb, "conns": args.conns, "results": results, "setup_ms": steps},
                  args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
