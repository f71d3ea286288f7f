"""The embedded DNS server: records and scoping, UDP/TCP serving, forwarding to a fake upstream, busybox nslookup.

Nothing is sent outside: upstreams are tiny servers started here on 127.0.0.x.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from ipaddress import IPv4Address, IPv4Interface, IPv6Address

import anyio
import anyio.abc
import anyio.to_thread
import dns.asyncquery
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.reversename
import pytest

from runtime.network.bridge import EndpointConfig, Links, bridge_name, veth_name
from runtime.network.dns import DnsServer, Records, local_answer
from tests.runtime.network.kernel import BUSYBOX, Netns, free_subnets

A = IPv4Address
UPSTREAM_ANSWER = "203.0.113.7"  # documentation range: only ever data in an answer


def _records() -> Records:
    r = Records()
    r.add("c1", "front", "10.1.0.2", ["proj-web-1", "web", "www"])
    r.add("c2", "front", "10.1.0.3", ["proj-web-2", "web"])
    r.add("c2", "back", "10.2.0.3", ["proj-web-2", "web"])
    r.add("c3", "back", "10.2.0.4", ["proj-db-1", "db"], forward=False)
    r.add("c4", "other", "10.3.0.2", ["proj-web-9", "web"], upstreams=["127.0.0.9"])
    return r


def test_names_are_scoped_to_shared_networks() -> None:
    r = _records()
    assert r.resolve(A("10.1.0.2"), "proj-web-2") == [A("10.1.0.3")]
    assert r.resolve(A("10.1.0.2"), "db") == []  # c1 is not on `back`
    assert r.resolve(A("10.2.0.4"), "DB.") == [A("10.2.0.4")]  # case and final dot do not matter
    # c2 is on both networks: through either address it sees both.
    assert sorted(r.resolve(A("10.1.0.3"), "db") + r.resolve(A("10.2.0.3"), "www")) == [A("10.1.0.2"), A("10.2.0.4")]
    assert r.resolve(A("10.2.0.4"), "web") == [A("10.2.0.3")]
    assert r.resolve(A("10.3.0.2"), "web") == [A("10.3.0.2")]
    assert r.resolve(A("10.9.9.9"), "web") == []  # unknown querier
    assert r.resolve(A("10.1.0.3"), "db.back") == [A("10.2.0.4")]  # name.network
    assert r.resolve(A("10.1.0.2"), "db.back") == []


def test_round_robin_rotates_all_replicas() -> None:
    r = _records()
    first, second, third = (r.resolve(A("10.1.0.2"), "web") for _ in range(3))
    assert sorted(first) == [A("10.1.0.2"), A("10.1.0.3")]
    assert second == first[::-1] and third == first


def test_remove_and_reverse() -> None:
    r = _records()
    assert r.reverse(A("10.1.0.2"), A("10.1.0.3")) == "proj-web-2"
    assert r.reverse(A("10.1.0.2"), A("10.2.0.4")) is None
    r.remove("c2", "front")
    assert r.resolve(A("10.1.0.2"), "web") == [A("10.1.0.2")]
    assert r.querier(A("10.1.0.3")) is None and r.querier(A("10.2.0.3")) == "c2"
    r.remove("c2")
    assert r.querier(A("10.2.0.3")) is None
    assert r.upstreams(A("10.3.0.2")) == ("127.0.0.9",) and r.upstreams(A("10.1.0.2")) is None
    assert not r.may_forward(A("10.2.0.4")) and r.may_forward(A("10.1.0.2"))


def _ask(name: str, rdtype: str = "A") -> dns.message.Message:
    return dns.message.make_query(name, rdtype)


def test_local_answers() -> None:
    r = _records()
    ok = local_answer(r, _ask("www"), A("10.1.0.3"))
    assert ok is not None and ok.rcode() == dns.rcode.NOERROR and ok.flags & dns.flags.AA
    assert [str(x) for x in ok.answer[0]] == ["10.1.0.2"] and ok.answer[0].ttl == 600
    nodata = local_answer(r, _ask("www", "AAAA"), A("10.1.0.3"))
    assert nodata is not None and nodata.rcode() == dns.rcode.NOERROR and not nodata.answer
    r.add("c9", "front", "10.1.0.9", ["dual"], address6=IPv6Address("fd7c::9"))
    aaaa = local_answer(r, _ask("dual", "AAAA"), A("10.1.0.3"))
    assert aaaa is not None and [str(x) for x in aaaa.answer[0]] == ["fd7c::9"]
    a = local_answer(r, _ask("dual"), A("10.1.0.3"))
    assert a is not None and [str(x) for x in a.answer[0]] == ["10.1.0.9"] and len(a.answer) == 1
    r.remove("c9")
    ptr = local_answer(r, _ask(dns.reversename.from_address("10.1.0.2").to_text(), "PTR"), A("10.1.0.3"))
    assert ptr is not None and [str(x) for x in ptr.answer[0]] == ["proj-web-1."]
    refused = local_answer(r, _ask("www"), A("192.0.2.99"))
    assert refused is not None and refused.rcode() == dns.rcode.REFUSED
    assert local_answer(r, _ask("example.org"), A("10.1.0.2")) is None  # to be forwarded
    nx = local_answer(r, _ask("example.org"), A("10.2.0.4"))  # internal only: no forwarding
    assert nx is not None and nx.rcode() == dns.rcode.NXDOMAIN


@asynccontextmanager
async def fake_upstream(address: str, *, silent: bool = False) -> AsyncIterator[int]:
    """A UDP+TCP DNS server on `address` answering every A query with UPSTREAM_ANSWER; yields its port."""
    udp = await anyio.create_udp_socket(local_host=address, local_port=0)
    port = udp.extra(anyio.abc.SocketAttribute.local_port)
    tcp = await anyio.create_tcp_listener(local_host=address, local_port=port)

    def reply(wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        response.answer.append(dns.rrset.from_text(query.question[0].name, 60, "IN", "A", UPSTREAM_ANSWER))
        return response.to_wire()

    async def serve_udp() -> None:
        async for packet, peer in udp:
            if not silent:
                await udp.sendto(reply(packet), *peer)

    async def serve_tcp(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            data = await stream.receive()
            answer = reply(data[2:])
            await stream.send(len(answer).to_bytes(2, "big") + answer)

    async with udp, tcp, anyio.create_task_group() as tg:
        tg.start_soon(serve_udp)
        tg.start_soon(tcp.serve, serve_tcp)
        yield port
        tg.cancel_scope.cancel()


def _free_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


@pytest.mark.anyio
@pytest.mark.timeout(30)
async def test_server_udp_tcp_forward_and_servfail() -> None:
    records = Records()
    records.add("me", "front", "127.0.0.1", ["me"])
    records.add("peer", "front", "127.0.0.5", ["peer", "svc"])
    records.add("peer2", "front", "127.0.0.6", ["svc"])
    where = "127.0.0.2"
    port = _free_port(where)
    async with fake_upstream("127.0.0.3") as up, fake_upstream("127.0.0.4", silent=True) as dead:
        server = DnsServer(records, [f"127.0.0.4:{dead}", f"127.0.0.3:{up}"], port=port, timeout=0.3)
        async with server:
            await server.add_listener(where)
            await server.add_listener(where)  # idempotent
            assert server.addresses == [where]

            udp = await dns.asyncquery.udp(_ask("svc"), where, port=port, timeout=2)
            tcp = await dns.asyncquery.tcp(_ask("svc"), where, port=port, timeout=2)
            assert {str(x) for x in udp.answer[0]} == {"127.0.0.5", "127.0.0.6"}
            assert [str(x) for x in udp.answer[0]] == [str(x) for x in tcp.answer[0]][::-1]  # round robin

            # Forwarded: the silent upstream times out, the next one answers.
            for ask in (dns.asyncquery.udp, dns.asyncquery.tcp):
                fwd = await ask(_ask("example.test"), where, port=port, timeout=3)
                assert [str(x) for x in fwd.answer[0]] == [UPSTREAM_ANSWER]

            server.upstreams = (f"127.0.0.4:{dead}",)
            failed = await dns.asyncquery.udp(_ask("example.test"), where, port=port, timeout=3)
            assert failed.rcode() == dns.rcode.SERVFAIL

            refused = await dns.asyncquery.udp(_ask("peer"), where, port=port, timeout=2, source="127.0.0.9")
            assert refused.rcode() == dns.rcode.REFUSED

            await server.remove_listener(where)
            await server.add_listener(where)  # the address is free again at once
            again = await dns.asyncquery.udp(_ask("peer"), where, port=port, timeout=2)
            assert [str(x) for x in again.answer[0]] == ["127.0.0.5"]


@pytest.mark.anyio
async def test_big_answers_are_truncated_over_udp_only() -> None:
    records = Records()
    records.add("me", "net", "10.1.0.1", ["me"])
    for n in range(2, 60):
        records.add(f"c{n}", "net", f"10.1.0.{n}", ["many"])
    server = DnsServer(records)
    query = _ask("many")
    udp = dns.message.from_wire(await server.handle(query.to_wire(), A("10.1.0.1")) or b"")
    assert udp.flags & dns.flags.TC and not udp.answer
    tcp = dns.message.from_wire(await server.handle(query.to_wire(), A("10.1.0.1"), tcp=True) or b"")
    assert len(tcp.answer[0]) == 58 and not tcp.flags & dns.flags.TC
    assert await server.handle(b"garbage", A("10.1.0.1")) is None


@pytest.mark.root
@pytest.mark.anyio
@pytest.mark.timeout(60)
async def test_busybox_nslookup_through_the_gateway(prefix: str, links: Links,
                                                     make_netns: Callable[[], Netns]) -> None:
    (subnet,) = free_subnets(1)
    hosts = list(subnet.hosts())
    gateway = IPv4Interface(f"{hosts[0]}/24")
    br = bridge_name(prefix, 0)
    ns = make_netns()
    endpoint = EndpointConfig(br, veth_name(prefix, "dns1"), ns.path, IPv4Interface(f"{hosts[1]}/24"),
                              gateway=gateway.ip)
    # pyroute2's synchronous API runs a loop of its own: never on the event loop's thread.
    await anyio.to_thread.run_sync(links.ensure_bridge, br, gateway)
    await anyio.to_thread.run_sync(links.attach, endpoint)
    records = Records()
    records.add("c1", "net", hosts[1], ["proj-app-1", "app"])
    records.add("c2", "net", hosts[2], ["proj-app-2", "app"])

    async def nslookup(name: str) -> str:
        done = await anyio.run_process(["ip", "netns", "exec", ns.name, BUSYBOX, "nslookup", name,
                                        str(gateway.ip)], check=False)
        return done.stdout.decode() + done.stderr.decode()

    async with fake_upstream("127.0.0.3") as up, DnsServer(records, [f"127.0.0.3:{up}"], timeout=0.5) as server:
        await server.add_listener(str(gateway.ip))
        out = await nslookup("proj-app-1")
        assert f"Address: {hosts[1]}" in out, out
        out = await nslookup("app")
        assert f"Address: {hosts[1]}" in out and f"Address: {hosts[2]}" in out, out
        out = await nslookup("example.test")
        assert f"Address: {UPSTREAM_ANSWER}" in out, out
        server.upstreams = ()
        with anyio.fail_after(5):  # no upstream at all: a quick SERVFAIL, not a hang
            out = await nslookup("nowhere.test")
        assert "SERVFAIL" in out, out
