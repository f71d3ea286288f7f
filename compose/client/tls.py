"""TLS to a tcp:// engine as the docker CLI sets it up.

`DOCKER_TLS_VERIFY` (any non-empty value) verifies the engine's certificate
against `ca.pem`; `DOCKER_TLS` alone encrypts without verifying; both read
`ca.pem`, `cert.pem` and `key.pem` from `DOCKER_CERT_PATH` (default
`~/.docker`). The root group's `--tls`, `--tlsverify`, `--tlscacert`,
`--tlscert`, `--tlskey` land in the environment (the last three as
PYCOMPOSE_TLSCACERT/TLSCERT/TLSKEY), so every command and every client of
the process sees the same settings. A context with TLS material sets
DOCKER_CERT_PATH to its `tls/<id>/docker` folder (compose/client/contexts.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from compose.client.errors import EngineConnectionError

if TYPE_CHECKING:
    import ssl

# A TLS engine that refuses our certificate (or its absence) closes after the
# handshake (TLS 1.3 clients learn it only then), often without an alert.
REFUSED_TLS = "TLS: the engine closed the connection without an answer (does it require a client certificate?)"
CACERT_ENV = "PYCOMPOSE_TLSCACERT"
CERT_ENV = "PYCOMPOSE_TLSCERT"
KEY_ENV = "PYCOMPOSE_TLSKEY"


class TLSSettings:
    """Read-only by convention (no dataclass on the CLI's fast path: see transport.Endpoint)."""

    __slots__ = ("ca", "cert", "key", "verify")

    def __init__(self, verify: bool, ca: str | None = None, cert: str | None = None,
                 key: str | None = None) -> None:
        self.verify, self.ca, self.cert, self.key = verify, ca, cert, key


def tls_from_environ(env: Mapping[str, str] | None = None) -> TLSSettings | None:
    """The TLS the environment asks for, or None for plain TCP."""
    env = os.environ if env is None else env
    verify = bool(env.get("DOCKER_TLS_VERIFY"))
    explicit = any(env.get(name) for name in (CACERT_ENV, CERT_ENV, KEY_ENV))
    if not (verify or env.get("DOCKER_TLS") or explicit):
        return None
    folder = env.get("DOCKER_CERT_PATH") or os.path.join(os.path.expanduser("~"), ".docker")

    def pick(override: str, name: str) -> str | None:
        given = env.get(override)
        if given:
            return given
        path = os.path.join(folder, name)
        return path if os.path.exists(path) else None

    return TLSSettings(verify, pick(CACERT_ENV, "ca.pem"), pick(CERT_ENV, "cert.pem"), pick(KEY_ENV, "key.pem"))


def client_context(settings: TLSSettings, host: str) -> ssl.SSLContext:
    """The client's SSL context; unreadable material is a one-line connection error."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        if settings.verify:
            if settings.ca is None:
                raise EngineConnectionError(f"cannot connect to {host}: --tlsverify needs a CA certificate "
                                            "(ca.pem in DOCKER_CERT_PATH or --tlscacert)")
            context.load_verify_locations(settings.ca)
        else:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if settings.cert is not None or settings.key is not None:
            if settings.cert is None or settings.key is None:
                raise EngineConnectionError(f"cannot connect to {host}: a client certificate needs both "
                                            "cert.pem and key.pem")
            context.load_cert_chain(settings.cert, settings.key)
    except (OSError, ssl.SSLError) as exc:
        raise EngineConnectionError(f"cannot connect to {host}: cannot load the TLS material: "
                                    f"{getattr(exc, 'strerror', None) or exc}") from None
    return context


def describe_tls_error(exc: BaseException) -> str:
    """`certificate verify failed: ...` out of an ssl error, for one line."""
    reason = getattr(exc, "reason", None)
    verify = getattr(exc, "verify_message", None)
    if verify:
        return f"TLS: certificate verify failed: {verify}"
    if reason:
        return f"TLS: {str(reason).lower().replace('_', ' ')}"
    return f"TLS: {exc}"
