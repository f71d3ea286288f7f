"""The Executor over the Engine API: one call per operation, waits on events or polls, observed state."""

from __future__ import annotations

import anyio
import pytest

from compose import labels as L
from compose.client import EngineError
from compose.conditions import COMPLETED, HEALTHY, RUNNING_OR_HEALTHY, STARTED, Verdict
from compose.engine_calls import EngineCalls
from compose.session import observe
from tests.compose.fake_client import FakeClient, FakeStream, inspect_doc

pytestmark = pytest.mark.anyio


async def test_each_operation_is_one_call() -> None:
    client = FakeClient()
    client.on("POST", "/containers/create", {"Id": "c1"})
    executor = EngineCalls(client)  # type: ignore[arg-type]
    assert await executor.create_container("p-web-1", {"Image": "busybox"}, None) == "c1"
    await executor.start_container("c1")
    await executor.stop_container("c1", 3)
    await executor.rename_container("c1", "p-web-2")
    await executor.remove_container("c1", True, False)
    await executor.create_network("p_default", {"Driver": "bridge"})
    await executor.connect_network("p_default", "c1", {"EndpointConfig": {"Aliases": ["web"]}})
    await executor.create_volume("p_data", {"Driver": "local"})
    assert [(c.method, c.path) for c in client.calls] == [
        ("POST", "/containers/create"), ("POST", "/containers/c1/start"), ("POST", "/containers/c1/stop"),
        ("POST", "/containers/c1/rename"), ("DELETE", "/containers/c1"), ("POST", "/networks/create"),
        ("POST", "/networks/p_default/connect"), ("POST", "/volumes/create"),
    ]
    create, _, stop, rename, remove, network, connect, volume = client.calls
    assert create.params == {"name": "p-web-1", "platform": None} and create.json == {"Image": "busybox"}
    assert stop.params == {"t": 3} and rename.params == {"name": "p-web-2"}
    assert remove.params == {"v": True, "force": False}
    assert network.json == {"Driver": "bridge", "Name": "p_default"}
    assert connect.json == {"EndpointConfig": {"Aliases": ["web"]}, "Container": "c1"}
    assert volume.json["Name"] == "p_data"


async def test_removing_what_is_gone_is_done_other_errors_are_not() -> None:
    client = FakeClient()
    for path in ("/containers/c1", "/networks/n", "/volumes/v"):
        client.on("DELETE", path, EngineError(404, "no such object"))
    executor = EngineCalls(client)  # type: ignore[arg-type]
    await executor.remove_container("c1", False, False)
    await executor.remove_network("n")
    await executor.remove_volume("v")
    client.on("DELETE", "/containers/c2", EngineError(409, "container is running"))
    with pytest.raises(EngineError, match="running"):
        await executor.remove_container("c2", False, False)


async def test_observe_filters_containers_by_project_and_lists_networks_and_volumes() -> None:
    client = FakeClient()
    summary = {"Id": "c1", "Names": ["/p-web-1"], "State": "running", "Status": "Up 1 second",
               "Labels": {L.PROJECT: "p", L.SERVICE: "web", L.NUMBER: "1"}}
    other = {**summary, "Id": "c2", "Labels": {L.PROJECT: "q", L.SERVICE: "web"}}
    client.on("GET", "/containers/json", [summary, other])
    client.on("GET", "/networks", [{"Id": "n1", "Name": "p_default", "Labels": {L.PROJECT: "p"}}])
    client.on("GET", "/volumes", {"Volumes": [{"Name": "p_data"}], "Warnings": None})
    state = await observe(client, "p")  # type: ignore[arg-type]
    assert [c.name for c in state.containers] == ["p-web-1"]
    assert set(state.networks) == {"p_default"} and set(state.volumes) == {"p_data"}
    listing = client.calls[0]
    assert listing.params == {"all": True, "filters": {"label": [f"{L.PROJECT}=p"]}}


async def test_observe_an_engine_without_networks_or_volumes() -> None:
    client = FakeClient()
    client.on("GET", "/containers/json", [])
    state = await observe(client, "p")  # type: ignore[arg-type]  # /networks and /volumes answer 404
    assert state.networks == {} and state.volumes == {}


async def test_wait_decided_by_the_inspect_taken_after_subscribing() -> None:
    client = FakeClient()
    client.on("GET", "/events", FakeStream())
    client.on("GET", "/containers/c/json", inspect_doc("c", "running"))
    executor = EngineCalls(client)  # type: ignore[arg-type]
    outcome = await executor.wait_condition("c", STARTED)
    assert outcome.verdict is Verdict.MET
    assert client.paths() == ["/events", "/containers/c/json"]
    events = client.calls[0]
    assert events.params["filters"]["container"] == ["c"] and "health_status" in events.params["filters"]["event"]


async def test_wait_follows_events_until_decided() -> None:
    client = FakeClient()
    feed = FakeStream()
    client.on("GET", "/events", feed)
    client.on("GET", "/containers/c/json", inspect_doc("c", "running", healthcheck=True))
    executor = EngineCalls(client, resync_interval=30)  # type: ignore[arg-type]
    async with anyio.create_task_group() as tasks:
        result = {}

        async def wait() -> None:
            result["outcome"] = await executor.wait_condition("c", HEALTHY)

        tasks.start_soon(wait)
        await anyio.sleep(0.05)
        assert "outcome" not in result
        feed.push({"Type": "container", "Action": "health_status: healthy", "timeNano": 1704067210 * 10**9,
                   "Actor": {"ID": "c", "Attributes": {}}})
    assert result["outcome"].verdict is Verdict.MET and result["outcome"].status == "Healthy"
    assert client.paths().count("/containers/c/json") == 1  # decided by the event, not by polling


async def test_wait_completed_fails_on_non_zero_exit_event() -> None:
    client = FakeClient()
    feed = FakeStream()
    client.on("GET", "/events", feed)
    client.on("GET", "/containers/c/json", inspect_doc("c", "running"))
    feed.push({"Type": "container", "Action": "die", "timeNano": 1704067210 * 10**9,
               "Actor": {"ID": "c", "Attributes": {"exitCode": "3"}}})
    outcome = await EngineCalls(client).wait_condition("c", COMPLETED)  # type: ignore[arg-type]
    assert outcome.verdict is Verdict.FAILED and "3" in outcome.reason


async def test_wait_polls_when_the_engine_has_no_events() -> None:
    client = FakeClient()
    docs = [inspect_doc("c", "created", started=""), inspect_doc("c", "created", started=""),
            inspect_doc("c", "running")]
    client.on("GET", "/containers/c/json", lambda params, body: docs.pop(0) if len(docs) > 1 else docs[0])
    executor = EngineCalls(client, poll_interval=0.01)  # type: ignore[arg-type]
    with anyio.fail_after(5):
        outcome = await executor.wait_condition("c", STARTED)
    assert outcome.verdict is Verdict.MET
    assert client.paths().count("/containers/c/json") == 3


async def test_wait_resyncs_a_quiet_event_stream_and_polls_after_it_ends() -> None:
    client = FakeClient()
    feed = FakeStream()
    client.on("GET", "/events", feed)
    docs = [inspect_doc("c", "created", started=""), inspect_doc("c", "running")]
    client.on("GET", "/containers/c/json", lambda params, body: docs.pop(0) if len(docs) > 1 else docs[0])
    executor = EngineCalls(client, resync_interval=0.05)  # type: ignore[arg-type]
    with anyio.fail_after(5):
        assert (await executor.wait_condition("c", STARTED)).verdict is Verdict.MET
    feed2 = FakeStream()
    feed2.end()  # an engine that ends the stream at once: polling takes over
    client.on("GET", "/events", feed2)
    client.on("GET", "/containers/d/json", inspect_doc("d", "exited", finished="2024-01-01T00:00:02Z", code=0))
    with anyio.fail_after(5):
        assert (await executor.wait_condition("d", COMPLETED)).verdict is Verdict.MET


async def test_wait_on_a_removed_container_fails() -> None:
    client = FakeClient()
    client.on("GET", "/events", EngineError(404, "page not found"))
    client.on("GET", "/containers/c/json", EngineError(404, "No such container: c"))
    outcome = await EngineCalls(client).wait_condition("c", RUNNING_OR_HEALTHY)  # type: ignore[arg-type]
    assert outcome.verdict is Verdict.FAILED and "removed" in outcome.reason
