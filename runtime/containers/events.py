"""The engine's event bus: Docker's events (create, start, die, stop, destroy, exec_*...) for GET /events.

Every event is a dict in Docker's shape (Type, Action, Actor{ID, Attributes},
scope, time, timeNano, plus the legacy status/id/from of container events).
The bus keeps the last `HISTORY` events for `since` and hands each listener
a bounded stream; a listener too slow to keep up is cut off rather than
letting the engine's memory grow.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from runtime.errors import bad_request

HISTORY = 1024
LISTENER_BUFFER = 4096
FILTER_KEYS = frozenset({"container", "event", "type", "label", "image", "scope"})

Event = dict[str, Any]


def make_event(kind: str, action: str, actor_id: str, attributes: Mapping[str, str], now_ns: int) -> Event:
    event: Event = {}
    if kind == "container":
        event.update({"status": action, "id": actor_id, "from": attributes.get("image", "")})
    event.update({
        "Type": kind,
        "Action": action,
        "Actor": {"ID": actor_id, "Attributes": dict(attributes)},
        "scope": "local",
        "time": now_ns // 10**9,
        "timeNano": now_ns,
    })
    return event


class EventBus:
    def __init__(self) -> None:
        self._history: deque[Event] = deque(maxlen=HISTORY)
        self._listeners: set[MemoryObjectSendStream[Event]] = set()

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def emit(self, kind: str, action: str, actor_id: str, attributes: Mapping[str, str]) -> Event:
        event = make_event(kind, action, actor_id, attributes, time.time_ns())
        self._history.append(event)
        for send in list(self._listeners):
            try:
                send.send_nowait(event)
            except anyio.WouldBlock:
                self._listeners.discard(send)
                send.close()
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._listeners.discard(send)
        return event

    @contextlib.contextmanager
    def listen(self) -> Iterator[tuple[list[Event], MemoryObjectReceiveStream[Event]]]:
        """(the events so far, a stream of the ones to come): nothing is lost or seen twice between them."""
        send, receive = anyio.create_memory_object_stream[Event](LISTENER_BUFFER)
        self._listeners.add(send)
        try:
            yield list(self._history), receive
        finally:
            self._listeners.discard(send)
            send.close()
            receive.close()


def check_filters(filters: Mapping[str, Sequence[str]]) -> None:
    for key in filters:
        if key not in FILTER_KEYS:
            raise bad_request(f"invalid filter '{key}'")


def matches(event: Event, filters: Mapping[str, Sequence[str]], names: Mapping[str, str]) -> bool:
    """Docker's event filters; `names` maps container ids to their current names for `container=name`."""
    actor = event["Actor"]
    attributes = actor.get("Attributes") or {}
    if (wanted := filters.get("type")) and event["Type"] not in wanted:
        return False
    if (wanted := filters.get("event")) and event["Action"].split(":")[0] not in wanted:
        return False
    if (wanted := filters.get("scope")) and event["scope"] not in wanted:
        return False
    if wanted := filters.get("container"):
        if event["Type"] != "container":
            return False
        ident = actor["ID"]
        name = attributes.get("name") or names.get(ident, "")
        if not any(w == name or ident.startswith(w) for w in wanted):
            return False
    if (wanted := filters.get("image")) and not any(w in (attributes.get("image"), actor["ID"]) for w in wanted):
        return False
    if wanted := filters.get("label"):
        for label in wanted:
            key, sep, value = label.partition("=")
            if key not in attributes or (sep and attributes[key] != value):
                return False
    return True


def parse_time(text: str, now: float | None = None) -> int | None:
    """`since`/`until`: unix seconds with an optional fraction (`1700000000.5`), as ns; "" -> None."""
    if not text:
        return None
    seconds, _, fraction = text.partition(".")
    if not seconds.lstrip("-").isdigit() or (fraction and not fraction.isdigit()):
        raise bad_request(f"invalid timestamp: {text}")
    return int(seconds) * 10**9 + int((fraction + "000000000")[:9]) if fraction else int(seconds) * 10**9
