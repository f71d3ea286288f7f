"""The docker credential helper protocol: `docker-credential-<name> get|store|erase`.

`get` reads the server on stdin and prints `{"ServerURL","Username","Secret"}`;
a Username of `<token>` means the Secret is an identity token. `store` reads
that JSON on stdin; `erase` the server. A helper that has nothing answers
`credentials not found in native keychain` (exit non-zero): that is no
credentials, not an error.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping

from compose.error_base import ComposeError
from compose.registry.config_file import Credentials

PREFIX = "docker-credential-"
NOT_FOUND = "credentials not found in native keychain"
TOKEN_USER = "<token>"
TIMEOUT = 60.0


class HelperError(ComposeError):
    pass


def _run(helper: str, action: str, data: str, environ: Mapping[str, str] | None) -> str:
    program = PREFIX + helper
    try:
        done = subprocess.run([program, action], input=data, capture_output=True, text=True, timeout=TIMEOUT,
                              env=dict(environ) if environ is not None else None, check=False)
    except FileNotFoundError:
        raise HelperError(f'error getting credentials - err: exec: "{program}": executable file not found in $PATH, '
                          "out: ``") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HelperError(f"error running {program} {action}: {exc}") from None
    out = done.stdout.strip()
    if done.returncode != 0:
        message = out or done.stderr.strip()
        if NOT_FOUND in message:
            raise LookupError(message)
        raise HelperError(f"error {'getting' if action == 'get' else action + 'ing'} credentials - "
                          f"err: exit status {done.returncode}, out: `{message}`")
    return out


def get(helper: str, server: str, environ: Mapping[str, str] | None = None) -> Credentials:
    """The helper's credentials for `server`; anonymous ones when it has none."""
    try:
        out = _run(helper, "get", server, environ)
    except LookupError:
        return Credentials(server)
    try:
        answer = json.loads(out) if out else {}
    except ValueError:
        raise HelperError(f"error getting credentials - err: invalid answer from {PREFIX}{helper}: {out[:80]!r}") \
            from None
    username, secret = str(answer.get("Username") or ""), str(answer.get("Secret") or "")
    if username == TOKEN_USER:
        return Credentials(server, identity_token=secret)
    return Credentials(server, username, secret)


def store(helper: str, creds: Credentials, environ: Mapping[str, str] | None = None) -> None:
    if creds.identity_token:
        payload = {"ServerURL": creds.server, "Username": TOKEN_USER, "Secret": creds.identity_token}
    else:
        payload = {"ServerURL": creds.server, "Username": creds.username, "Secret": creds.password}
    _run(helper, "store", json.dumps(payload), environ)


def erase(helper: str, server: str, environ: Mapping[str, str] | None = None) -> None:
    """Forget `server`; one the helper never knew is not an error."""
    try:
        _run(helper, "erase", server, environ)
    except LookupError:
        return
