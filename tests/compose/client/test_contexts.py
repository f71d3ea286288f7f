"""Which context a command line uses, as the docker CLI chooses, and what it puts in the environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compose.client import contexts
from compose.client.contexts import Context, ContextError


def store(tmp_path: Path) -> Path:
    root = tmp_path / ".docker"
    contexts.save(root, Context("far", "tcp://10.1.2.3:2376", "a far one"), {"ca.pem": b"CA", "cert.pem": b"C",
                                                                            "key.pem": b"K"})
    contexts.save(root, Context("plain", "ssh://me@h"), {})
    return root


def test_choice_follows_the_docker_cli(tmp_path: Path) -> None:
    root = store(tmp_path)
    env = {"DOCKER_CONFIG": str(root)}
    assert contexts.current_name(env) == "default"
    contexts.set_current(root, "far")
    assert contexts.current_name(env) == "far"
    assert contexts.current_name({**env, "DOCKER_CONTEXT": "plain"}) == "plain"
    assert contexts.current_name({**env, "DOCKER_HOST": "unix:///x"}) == "default"  # DOCKER_HOST wins
    assert contexts.current_name({**env, "DOCKER_HOST": "unix:///x"}, "plain") == "plain"  # --context wins
    with pytest.raises(ContextError, match="either specify --host or --context"):
        contexts.current_name(env, "plain", host_given=True)
    contexts.set_current(root, "default")
    assert "currentContext" not in json.loads((root / "config.json").read_text())


def test_apply_puts_host_and_tls_in_the_environment(tmp_path: Path) -> None:
    root = store(tmp_path)
    env = {"DOCKER_CONFIG": str(root), "DOCKER_TLS_VERIFY": "", "DOCKER_CERT_PATH": "/elsewhere"}
    assert contexts.apply(env, "far") == "far"
    folder = contexts.tls_dir(root, "far") / "docker"
    assert env == {"DOCKER_CONFIG": str(root), "DOCKER_HOST": "tcp://10.1.2.3:2376", "DOCKER_TLS_VERIFY": "1",
                   "DOCKER_CERT_PATH": str(folder)}
    assert (folder / "key.pem").stat().st_mode & 0o777 == 0o600
    env = {"DOCKER_CONFIG": str(root), "DOCKER_TLS_VERIFY": "1"}
    contexts.apply(env, "plain")
    assert env == {"DOCKER_CONFIG": str(root), "DOCKER_HOST": "ssh://me@h"}


def test_store_layout_is_the_docker_clis(tmp_path: Path) -> None:
    root = store(tmp_path)
    meta = root / "contexts" / "meta" / contexts.context_id("far") / "meta.json"
    assert json.loads(meta.read_text()) == {"Name": "far", "Metadata": {"Description": "a far one"},
                                            "Endpoints": {"docker": {"Host": "tcp://10.1.2.3:2376",
                                                                     "SkipTLSVerify": False}}}
    assert contexts.names(root) == ["far", "plain"]
    loaded = contexts.load(root, "far")
    assert (loaded.host, loaded.tls_files) == ("tcp://10.1.2.3:2376", ("ca.pem", "cert.pem", "key.pem"))


def test_bad_names_and_missing_contexts(tmp_path: Path) -> None:
    for name in ("default", "x", "-bad"):
        with pytest.raises(ContextError):
            contexts.check_name(name)
    with pytest.raises(ContextError, match='context "nope": context not found'):
        contexts.load(tmp_path, "nope")
