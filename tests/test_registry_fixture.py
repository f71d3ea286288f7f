"""The test registry fixture itself: every mode starts, takes a push and serves it back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.registry_fixture import RegistryFactory, TokenServer
from tests.registry_images import oci_layout, push_layout, skopeo, skopeo_src_flags


@pytest.mark.parametrize("mode", ["http", "tls", "htpasswd", "token"])
def test_registry_mode_serves_what_skopeo_pushed(registry_factory: RegistryFactory, mode: str, tmp_path: Path) -> None:
    reg = registry_factory(mode)
    layout = oci_layout(tmp_path / "layout", [{"hello.txt": b"hello\n"}])
    push_layout(layout, reg, "fixture/hello", "v1")
    raw = skopeo("inspect", "--raw", *skopeo_src_flags(reg, "--"), f"docker://{reg.host}/fixture/hello:v1").stdout
    assert json.loads(raw)["schemaVersion"] == 2
    if mode == "token":
        assert isinstance(reg.token_server, TokenServer)
        assert any(account == "testuser" for account, _ in reg.token_server.issued)


def test_wrong_password_is_refused(registry_factory: RegistryFactory, tmp_path: Path) -> None:
    reg = registry_factory("htpasswd")
    layout = oci_layout(tmp_path / "layout", [{"a": b"a"}])
    import subprocess

    done = subprocess.run(["skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false",
                           "--dest-creds=testuser:wrong", f"oci:{layout}:latest",
                           f"docker://{reg.host}/fixture/a:latest"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "unauthorized" in done.stderr.lower() or "401" in done.stderr
