"""A container created in the supervisor and waiting at its gate: what attach and start both need.

The supervisor makes the container (namespaces, mounts, PID 1 blocked
before exec) and holds it at a gate; `docker run` attaches there before the
start opens the gate, so no output is missed.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from runtime.containers import links, networking
from runtime.containers.log_options import log_attrs, log_options, tag_names
from runtime.spec import spec_from_dict

if TYPE_CHECKING:
    from runtime.containers.live import Live
    from runtime.containers.records import Record
    from runtime.containers.table import ContainerTable

log = logging.getLogger("pycompose.containers")


async def prepare(table: ContainerTable, record: Record, live: Live) -> None:
    """Create the container in the supervisor, waiting at its gate (attach before start).

    A birth that fails raises the supervisor's error as is: it is the start that reports it."""
    if live.prepared:
        return
    if live.in_supervisor:
        await table.delete_in_supervisor(record.id)
        live.in_supervisor = False
    spec = links.with_link_env(table, record, networking.start_spec(table, record, spec_from_dict(record.spec)))
    logging = log_options(record.host_config["LogConfig"])
    attrs = log_attrs(record.host_config["LogConfig"], record.labels, record.config.get("Env") or (),
                      tag_names(record.id, record.name, record.image_id, str(record.config.get("Image") or "")))
    live.pid = await table.supervisor.create(spec, max_size=logging.max_size or None, max_file=logging.max_file,
                                             log_driver=logging.driver, log_compress=logging.compress, log_attrs=attrs,
                                             stdin_open=bool(record.config.get("OpenStdin")),
                                             tty=bool(record.config.get("Tty")),
                                             stdin_once=bool(record.config.get("StdinOnce")))
    live.in_supervisor = live.prepared = True
    size = record.host_config.get("ConsoleSize") or [0, 0]
    if record.config.get("Tty") and len(size) == 2 and all(size):
        # The terminal has the client's size before the process first looks at it.
        with contextlib.suppress(Exception):
            await table.supervisor.resize(record.id, int(size[0]), int(size[1]))


async def hand_over(table: ContainerTable, record: Record, live: Live) -> None:
    """The attaches that waited for a birth get their streams now, before the gate opens."""
    waiting, live.pending_attaches = live.pending_attaches, []
    for pending in waiting:
        if pending.abandoned:
            continue
        try:
            pending.sock = await table.supervisor.attach(record.id, pending.stdin)
        except Exception as exc:  # that attach ends without a stream; the start goes on
            log.debug("attach to %s after its birth: %s", record.name, exc)
        pending.ready.set()
