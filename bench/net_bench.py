"""Network throughput: host -> netns over TCP, direct to its address vs through a published port.

By default builds its own bare setup with runtime/network (a netns, a bridge,
a veth, the nftables table with one published port) and runs a sink in the
netns; `--direct IP:PORT --published HOST:PORT` measures given endpoints
instead (e.g. a container running a sink that reads until EOF and answers
"ok"). Each case sends `--mb` MiB `--runs` times; the table shows the median
throughput. Also times the setup steps. Needs root. Writes
bench/results/net_bench.json.

    .venv/bin/python bench/net_bench.py [--mb 256] [--runs 5]
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runtime.network import nat  # noqa: E402
from runtime.network.bridge import EndpointConfig, Links, bridge_name, read_host_routes, veth_name  # noqa: E402
from runtime.network.ipam import plan_pool  # noqa: E402
from runtime.network.ports import PortReservations, PortSpec  # noqa: E402

MB = 1 << 20
SINK_PORT = 5001
SINK = (
    "import socket\n"
    "s = socket.socket()\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    f"s.bind(('0.0.0.0', {SINK_PORT}))\n"
    "s.listen(8)\n"
    "print('ready', flush=True)\n"
    "buf = bytearray(1 << 20)\n"
    "while True:\n"
    "    c, _ = s.accept()\n"
    "    while c.recv_into(buf):\n"
    "        pass\n"
    "    c.sendall(b'ok')\n"
    "    c.close()\n"
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


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - start) * 1000


@contextmanager
def bare_setup(steps: dict[str, float]) -> Iterator[dict[str, str]]:
    """A netns with a sink behind a bridge and a published port; yields the endpoints to measure."""
    prefix = "pycb" + secrets.token_hex(2)[:3]
    ns = "pycbench" + secrets.token_hex(3)
    pool = plan_pool(None, [], read_host_routes())
    address = pool.interface(pool.allocate("bench"))
    br = bridge_name(prefix, 0)
    with ExitStack() as stack:
        subprocess.run(["ip", "netns", "add", ns], check=True)
        stack.callback(subprocess.run, ["ip", "netns", "delete", ns], check=False)
        links = stack.enter_context(Links())
        stack.callback(links.remove_stale, prefix, ())
        links.links(prefix)  # import pyroute2 and open netlink outside the timings
        _, steps["bridge_ms"] = timed(lambda: links.ensure_bridge(br, pool.gateway_interface))
        cfg = EndpointConfig(br, veth_name(prefix, "bench01"), f"/run/netns/{ns}", address, gateway=pool.gateway)
        _, steps["attach_ms"] = timed(lambda: links.attach(cfg))
        stack.callback(nat.cleanup, prefix)
        table = nat.NatTable(prefix)
        stack.callback(table.nft.close)
        _, steps["nft_table_ms"] = timed(table.ensure)
        _, steps["nft_network_ms"] = timed(lambda: table.add_network(nat.NetworkRules(br, pool.subnet)))
        ports = stack.enter_context(_reservations())
        published = ports.reserve("bench", PortSpec(SINK_PORT))
        rule = nat.PortRule("tcp", "", published.host_port, address.ip, SINK_PORT)
        _, steps["nft_port_ms"] = timed(lambda: table.add_port(rule))
        sink = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-I", "-S", "-c", SINK],
                                stdout=subprocess.PIPE, text=True)
        stack.callback(sink.wait)
        stack.callback(sink.kill)
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        yield {
            "direct": f"{address.ip}:{SINK_PORT}",
            "published 127.0.0.1": f"127.0.0.1:{published.host_port}",
            "published host ip": f"{_host_ip()}:{published.host_port}",
        }


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


def measure(targets: dict[str, str], total: int, runs: int) -> dict[str, dict[str, float]]:
    results = {}
    for name, target in targets.items():
        host, _, port = target.rpartition(":")
        send(host, int(port), 4 * MB)  # warm up ARP, conntrack, caches
        times = [send(host, int(port), total) for _ in range(runs)]
        median = statistics.median(times)
        results[name] = {"median_s": median, "mib_per_s": total / MB / median, "runs": runs}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--direct", help="IP:PORT of a sink reached directly")
    parser.add_argument("--published", help="HOST:PORT of the same sink through a published port")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "net_bench.json")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (netns, bridge, nftables)", file=sys.stderr)
        return 2
    total = args.mb * MB
    steps: dict[str, float] = {}
    if args.direct and args.published:
        results = measure({"direct": args.direct, "published": args.published}, total, args.runs)
    else:
        with bare_setup(steps) as targets:
            results = measure(targets, total, args.runs)
    print(f"{'case':<22} {'MiB/s':>10} {'median s':>10}")
    for name, r in results.items():
        print(f"{name:<22} {r['mib_per_s']:>10.0f} {r['median_s']:>10.3f}")
    for name, ms in steps.items():
        print(f"{name:<22} {ms:>10.2f} ms")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"mib": args.mb, "results": results, "setup_ms": steps}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
