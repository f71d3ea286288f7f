"""Registry settings: insecure registries (the loopback implicit), CA folders, daemon.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime.registry.config import ConfigError, RegistryConfig, load_config


def test_insecure_rules() -> None:
    config = RegistryConfig(insecure=("myreg:5000", "10.1.0.0/16"))
    assert config.is_insecure("127.0.0.1:5000") and config.is_insecure("localhost:5000")
    assert config.is_insecure("myreg:5000") and config.is_insecure("10.1.2.3:443")
    assert not config.is_insecure("10.2.0.1:5000")
    assert not RegistryConfig(implicit_insecure=()).is_insecure("127.0.0.1:5000")


def test_daemon_json(tmp_path: Path) -> None:
    assert load_config(tmp_path).max_downloads == 3
    (tmp_path / "daemon.json").write_text(json.dumps({
        "insecure-registries": ["r:1"], "registry-mirrors": ["http://m:5000/"], "max-concurrent-downloads": 5}))
    config = load_config(tmp_path)
    assert (config.insecure, config.mirrors, config.max_downloads) == (("r:1",), ("http://m:5000",), 5)
    (tmp_path / "certs.d" / "r:1").mkdir(parents=True)
    (tmp_path / "certs.d" / "r:1" / "ca.crt").write_text("x")
    assert config.ca_files("r:1") == [tmp_path / "certs.d" / "r:1" / "ca.crt"]
    (tmp_path / "daemon.json").write_text(json.dumps({"max-concurrent-downloads": 0}))
    with pytest.raises(ConfigError, match="max-concurrent-downloads must be a positive integer"):
        load_config(tmp_path)
