"""The root group's engine options keep compose/client/tls.py's environment names."""

from __future__ import annotations

from compose.cli import engine_options
from compose.client import tls


def test_names_match() -> None:
    assert (engine_options.CACERT_ENV, engine_options.CERT_ENV, engine_options.KEY_ENV) == (
        tls.CACERT_ENV, tls.CERT_ENV, tls.KEY_ENV)
