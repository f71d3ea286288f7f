"""The docker CLI's credential store: config.json auths, credsStore and credHelpers, and the X-Registry-Auth header.

The helper is a real program on PATH (a shell script written by the test),
spoken to with the docker-credential-helpers protocol.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from compose.error_base import ComposeError
from compose.registry.config_file import Credentials, config_dir
from compose.registry.credentials import CredentialStore, auth_headers, registry_auth

# A docker-credential-<name> keeping one JSON file per server under $HELPER_DIR.
HELPER = r"""#!/bin/sh
set -e
dir="$HELPER_DIR"
case "$1" in
  store) input=$(cat); server=$(printf '%s' "$input" | sed 's/.*"ServerURL": *"\([^"]*\)".*/\1/');
         printf '%s' "$input" > "$dir/$(printf '%s' "$server" | tr '/:' '__')" ;;
  get) server=$(cat); f="$dir/$(printf '%s' "$server" | tr '/:' '__')";
       if [ -f "$f" ]; then cat "$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase) server=$(cat); rm -f "$dir/$(printf '%s' "$server" | tr '/:' '__')" ;;
  *) exit 2 ;;
esac
"""


def write_helper(bin_dir: Path, name: str) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / f"docker-credential-{name}"
    path.write_text(HELPER)
    path.chmod(0o755)
    return path


def decode_header(value: str) -> dict[str, str]:
    return json.loads(base64.urlsafe_b64decode(value))  # type: ignore[no-any-return]


def test_config_dir_follows_docker_config_then_home(tmp_path: Path) -> None:
    assert config_dir({"DOCKER_CONFIG": str(tmp_path / "c"), "HOME": "/h"}) == tmp_path / "c"
    assert config_dir({"HOME": "/h"}) == Path("/h/.docker")


def test_file_store_round_trip_as_the_docker_cli_keeps_it(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "docker", {})
    (tmp_path / "docker").mkdir()
    (store.path).write_text(json.dumps({"psFormat": "table {{.ID}}", "auths": {}}))
    assert store.get("localhost:5000").anonymous
    assert store.store(Credentials("localhost:5000", "alice", "s3:cret")) is None
    data = json.loads(store.path.read_text())
    assert data["psFormat"] == "table {{.ID}}"  # other keys are kept
    assert data["auths"]["localhost:5000"] == {"auth": base64.b64encode(b"alice:s3:cret").decode()}
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert store.get("localhost:5000") == Credentials("localhost:5000", "alice", "s3:cret")
    assert store.for_image("localhost:5000/app:1").username == "alice"
    assert store.for_image("busybox").anonymous
    store.erase("localhost:5000")
    assert json.loads(store.path.read_text())["auths"] == {}


def test_legacy_keys_and_hub_key(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path, {})
    auth = base64.b64encode(b"bob:pw").decode()
    store.path.write_text(json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": auth},
                                                "http://r.example.com:5000/v1/": {"auth": auth}}}))
    assert store.for_image("team/app").username == "bob"
    assert store.for_image("r.example.com:5000/x").password == "pw"


def test_broken_config_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ComposeError, match="loading config file"):
        CredentialStore(tmp_path, {}).get("x")
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"x": {"auth": base64.b64encode(b"nocolon").decode()}}}))
    with pytest.raises(ComposeError, match="invalid auth configuration for x"):
        CredentialStore(tmp_path, {}).get("x")


def test_creds_store_helper_keeps_the_secret(tmp_path: Path) -> None:
    write_helper(tmp_path / "bin", "testpass")
    (tmp_path / "secrets").mkdir()
    environ = {"PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", "HELPER_DIR": str(tmp_path / "secrets")}
    store = CredentialStore(tmp_path / "docker", environ)
    store.directory.mkdir()
    store.path.write_text(json.dumps({"credsStore": "testpass"}))
    assert store.get("localhost:5000").anonymous  # "credentials not found" is no credentials
    assert store.store(Credentials("localhost:5000", "alice", "pw")) == "testpass"
    assert json.loads(store.path.read_text())["auths"] == {"localhost:5000": {}}
    assert store.get("localhost:5000") == Credentials("localhost:5000", "alice", "pw")
    assert decode_header(auth_headers(store, "localhost:5000/app")["X-Registry-Auth"]) == {
        "username": "alice", "password": "pw", "serveraddress": "localhost:5000"}
    store.erase("localhost:5000")
    assert store.get("localhost:5000").anonymous and json.loads(store.path.read_text())["auths"] == {}


def test_cred_helpers_win_over_creds_store_and_tokens(tmp_path: Path) -> None:
    write_helper(tmp_path / "bin", "special")
    (tmp_path / "secrets").mkdir()
    environ = {"PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", "HELPER_DIR": str(tmp_path / "secrets")}
    store = CredentialStore(tmp_path / "docker", environ)
    store.directory.mkdir()
    store.path.write_text(json.dumps({"credsStore": "absent", "credHelpers": {"r.example.com": "special"}}))
    store.store(Credentials("r.example.com", "u", "", identity_token="tok"))
    assert store.get("r.example.com") == Credentials("r.example.com", identity_token="tok")
    with pytest.raises(ComposeError, match="docker-credential-absent"):
        store.get("localhost:5000")


def test_header_is_padded_base64url_json() -> None:
    value = registry_auth(Credentials("localhost:5000", "a", "p?>"))
    assert "+" not in value and "/" not in value and len(value) % 4 == 0
    assert decode_header(value) == {"username": "a", "password": "p?>", "serveraddress": "localhost:5000"}
    assert decode_header(registry_auth(Credentials("https://index.docker.io/v1/"))) == {
        "serveraddress": "https://index.docker.io/v1/"}
