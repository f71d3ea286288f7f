"""The body of `POST /containers/{id}/exec` (Docker's ExecConfig), one builder for every caller.

`docker exec` flags (cli/container_run.py and its fast path), `compose exec`
(cli/exec.py) and the Python API's `exec` all send it. `env` is already
resolved (`KEY=VALUE` lines). Light on purpose: the CLI's fast path imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def exec_body(command: Sequence[str], *, env: Sequence[str] = (), detach: bool = False, interactive: bool = False,
              tty: bool = False, user: str | None = None, workdir: str | None = None, privileged: bool = False,
              console_size: tuple[int, int] | None = None, detach_keys: str = "") -> dict[str, Any]:
    """Attach stdin only when interactive and attached; stdout/stderr unless detached."""
    body = {"AttachStdin": interactive and not detach, "AttachStdout": not detach, "AttachStderr": not detach,
            "Tty": tty, "Env": list(env) or None, "User": user, "WorkingDir": workdir, "Privileged": privileged,
            "Cmd": list(command), "ConsoleSize": list(console_size) if console_size else None,
            "DetachKeys": detach_keys or None}
    return {k: v for k, v in body.items() if v is not None}
