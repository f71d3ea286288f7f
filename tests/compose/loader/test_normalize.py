"""normalize(): project defaults, names, paths, environment, implicit dependencies, references."""

from __future__ import annotations

import logging
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

from compose.errors import ComposeFileError
from compose.loader.canonical import canonical
from compose.loader.marks import MDict, plain
from compose.loader.normalize import NormalizeContext, normalize
from compose.loader.yamlfile import parse_yaml

PROJECT_DIR = Path("/srv/app")


def _norm(text: str, env: dict[str, str] | None = None, project_dir: Path = PROJECT_DIR,
          **ctx: Any) -> MDict:
    doc = canonical(parse_yaml(textwrap.dedent(text), "compose.yaml"))
    return normalize(doc, NormalizeContext("proj", project_dir, env or {}, **ctx))


def _web(body: str, env: dict[str, str] | None = None, extra: str = "", **kwargs: Any) -> dict[str, Any]:
    text = "services:\n  web:\n" + textwrap.indent(textwrap.dedent(body), "    ") + textwrap.dedent(extra)
    return plain(_norm(text, env, **kwargs)["services"]["web"])


def test_version_dropped_with_warning_and_name_set(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pycompose"):
        doc = _norm("version: '3.8'\nservices:\n  web:\n    image: x\n")
    assert "version" not in doc
    assert doc["name"] == "proj"
    assert "compose.yaml:1:1: the attribute `version` is obsolete" in caplog.text


def test_default_network_added_when_used() -> None:
    doc = plain(_norm("services:\n  web:\n    image: x\n  db:\n    image: y\n    network_mode: host\n"))
    assert doc["services"]["web"]["networks"] == {"default": None}
    assert "networks" not in doc["services"]["db"]
    assert doc["networks"] == {"default": {"name": "proj_default"}}


def test_no_default_network_when_unused() -> None:
    doc = plain(_norm("services:\n  web:\n    image: x\n    networks: [front]\nnetworks:\n  front: {}\n"))
    assert doc["networks"] == {"front": {"name": "proj_front"}}


def test_resource_names() -> None:
    doc = plain(_norm("""\
        services: {}
        volumes:
          data:
          named: {name: custom}
          ext: {external: true}
          ext2: {external: true, name: other}
        secrets:
          s: {file: ./s.txt}
        configs:
          c: {external: true}
        """))
    assert doc["volumes"] == {"data": {"name": "proj_data"}, "named": {"name": "custom"},
                              "ext": {"external": True, "name": "ext"}, "ext2": {"external": True, "name": "other"}}
    assert doc["secrets"]["s"] == {"file": "/srv/app/s.txt", "name": "proj_s"}
    assert doc["configs"]["c"] == {"external": True, "name": "c"}


def test_paths_made_absolute() -> None:
    home = os.path.expanduser("~")
    web = _web("""\
        build: {context: ./app, additional_contexts: {a: ../lib, b: "service:base", c: "docker-image://x"}}
        volumes: ["./data:/data", "~/cache:/cache", "/abs/./x:/x", "named:/n"]
        """, extra="volumes:\n  named:\n")
    assert web["build"]["context"] == "/srv/app/app"
    assert web["build"]["additional_contexts"] == {"a": "/srv/lib", "b": "service:base", "c": "docker-image://x"}
    assert [v.get("source") for v in web["volumes"]] == ["/srv/app/data", f"{home}/cache", "/abs/./x", "named"]


@pytest.mark.parametrize("context", ["https://github.com/a/b.git", "git@github.com:a/b.git", "github.com/a/b"])
def test_remote_build_context_kept(context: str) -> None:
    assert _web(f"build: {context}\n")["build"] == {"context": context, "dockerfile": "Dockerfile"}


def test_build_defaults() -> None:
    assert _web("build: {}\n")["build"] == {"context": "/srv/app", "dockerfile": "Dockerfile"}
    assert _web("build: {dockerfile_inline: FROM x}\n")["build"] == {"context": "/srv/app",
                                                                      "dockerfile_inline": "FROM x"}


def test_build_args_resolved_or_dropped() -> None:
    web = _web("build: {context: ., args: [A=1, B, C]}\n", env={"B": "bee"})
    assert web["build"]["args"] == {"A": "1", "B": "bee"}


def test_environment_bare_keys_resolved() -> None:
    web = _web("image: x\nenvironment: [A=1, B, C]\n", env={"B": "bee"})
    assert web["environment"] == {"A": "1", "B": "bee", "C": None}


def test_env_file_merged_and_removed(tmp_path: Path) -> None:
    (tmp_path / "a.env").write_text("FOO=file\nBAR=${OWN}\nBAZ=a\n")
    (tmp_path / "b.env").write_text("BAZ=b\nQUX=q\n")
    web = _web("image: x\nenv_file: [a.env, b.env, {path: missing.env, required: false}]\n"
               "environment: {FOO: own, OWN: o}\n", project_dir=tmp_path)
    assert "env_file" not in web
    assert web["environment"] == {"FOO": "own", "BAR": "o", "BAZ": "b", "QUX": "q", "OWN": "o"}


def test_env_file_null_environment_entry_wins(tmp_path: Path) -> None:
    (tmp_path / ".env.web").write_text("FOO=file\n")
    web = _web("image: x\nenv_file: .env.web\nenvironment: [FOO]\n", project_dir=tmp_path)
    assert web["environment"] == {"FOO": None}


def test_missing_required_env_file_is_an_error_at_the_entry(tmp_path: Path) -> None:
    with pytest.raises(ComposeFileError, match=r"env file .*nope\.env not found") as info:
        _web("image: x\nenv_file:\n  - nope.env\n", project_dir=tmp_path)
    assert info.value.mark is not None and info.value.mark.line == 5
    assert info.value.path == "services.web.env_file[0]"


def test_label_file_merged(tmp_path: Path) -> None:
    (tmp_path / "l.label").write_text("a=1\nb=2\n")
    web = _web("image: x\nlabel_file: l.label\nlabels: {b: own}\n", project_dir=tmp_path)
    assert "label_file" not in web
    assert web["labels"] == {"a": "1", "b": "own"}


def test_depends_on_implicit_from_links_modes_and_volumes_from() -> None:
    doc = plain(_norm("""\
        services:
          web:
            image: x
            links: [db, cache:c]
            ipc: "service:ipcsrc"
            volumes_from: [data:ro, "container:abc"]
            depends_on:
              db: {condition: service_healthy}
          db: {image: x}
          cache: {image: x}
          ipcsrc: {image: x}
          data: {image: x}
        """))
    assert doc["services"]["web"]["depends_on"] == {
        "db": {"condition": "service_healthy", "required": True},
        "cache": {"condition": "service_started", "restart": True, "required": True},
        "ipcsrc": {"condition": "service_started", "restart": True, "required": True},
        "data": {"condition": "service_started", "restart": False, "required": True},
    }


def test_network_mode_service_adds_dependency_and_no_default_network() -> None:
    doc = plain(_norm("services:\n  web: {image: x, network_mode: 'service:vpn'}\n  vpn: {image: y}\n"))
    assert doc["services"]["web"]["depends_on"]["vpn"]["required"] is True
    assert "networks" not in doc["services"]["web"]


def test_undefined_dependency_is_an_error_with_mark() -> None:
    with pytest.raises(ComposeFileError) as info:
        _norm("services:\n  web:\n    image: x\n    depends_on:\n      - db\n")
    assert info.value.message == 'service "web" depends on undefined service "db"'
    assert info.value.mark is not None and info.value.mark.line == 5


def test_undefined_link_points_at_the_link() -> None:
    with pytest.raises(ComposeFileError, match='undefined service "db"') as info:
        _norm("services:\n  web:\n    image: x\n    links:\n      - db:alias\n")
    assert info.value.mark is not None and info.value.mark.line == 5


def test_non_required_dependency_on_disabled_service_is_fine() -> None:
    doc = _norm("services:\n  web:\n    image: x\n    depends_on:\n      db: {required: false}\n",
                disabled_services=frozenset({"db"}))
    assert "db" in doc["services"]["web"]["depends_on"]


@pytest.mark.parametrize(("body", "message"), [
    ("networks: [nope]\n", 'service "web" refers to undefined network nope'),
    ("volumes: ['data:/d']\n", 'service "web" refers to undefined volume data'),
    ("secrets: [s]\n", 'service "web" refers to undefined secret s'),
    ("configs: [c]\n", 'service "web" refers to undefined config c'),
])
def test_undefined_resources(body: str, message: str) -> None:
    with pytest.raises(ComposeFileError) as info:
        _web("image: x\n" + body)
    assert info.value.message == message
    assert info.value.mark is not None and info.value.mark.line == 4


def test_neither_image_nor_build_is_an_error() -> None:
    with pytest.raises(ComposeFileError, match="neither an image nor a build context"):
        _norm("services:\n  web:\n    command: x\n")


def test_secret_without_source_is_an_error() -> None:
    with pytest.raises(ComposeFileError, match="must declare either `file` or `environment`"):
        _norm("services: {}\nsecrets:\n  s: {}\n")


def test_duplicate_mount_target_is_an_error() -> None:
    with pytest.raises(ComposeFileError, match=r"target /d already mounted as services.web.volumes\[0\]"):
        _web("image: x\nvolumes: ['/a:/d', '/b:/d/']\n")


def test_defaults_for_long_forms() -> None:
    web = _web("""\
        image: x
        ports: [{target: 80}]
        secrets: [s, {source: s, target: /t}]
        volumes: [{type: bind, source: ., target: /x, bind: {}}]
        gpus: [{driver: nvidia}]
        pull_policy: if_not_present
        """, extra="secrets:\n  s: {file: ./s}\n")
    assert web["ports"] == [{"target": 80, "mode": "ingress", "protocol": "tcp"}]
    assert web["secrets"] == [{"source": "s", "target": "/run/secrets/s"}, {"source": "s", "target": "/t"}]
    assert web["volumes"][0]["bind"] == {"create_host_path": True}
    assert web["gpus"] == [{"driver": "nvidia", "count": -1}]
    assert web["pull_policy"] == "missing"


def test_values_converted() -> None:
    web = _web("""\
        image: x
        mem_limit: 512m
        shm_size: 64M
        memswap_limit: -1
        cpus: "1.50"
        stop_grace_period: 90s
        healthcheck: {test: [CMD, x], interval: 1m, timeout: 500ms, start_period: 1h30m}
        deploy: {resources: {limits: {memory: 1g, cpus: "2"}}, restart_policy: {delay: 5s}}
        secrets: [{source: s, mode: "0440", uid: 103}]
        volumes: [{type: tmpfs, target: /t, tmpfs: {size: 1k}}]
        """, extra="secrets:\n  s: {file: ./s}\n")
    assert web["mem_limit"] == 512 * 1024 * 1024
    assert web["shm_size"] == 64 * 1024 * 1024
    assert web["memswap_limit"] == -1
    assert web["cpus"] == 1.5
    assert web["stop_grace_period"] == "1m30s"
    assert web["healthcheck"]["interval"] == "1m0s"
    assert web["healthcheck"]["timeout"] == "500ms"
    assert web["healthcheck"]["start_period"] == "1h30m0s"
    assert web["deploy"]["resources"]["limits"] == {"memory": 1 << 30, "cpus": 2}
    assert web["deploy"]["restart_policy"]["delay"] == "5s"
    assert web["secrets"][0]["mode"] == 0o440 and web["secrets"][0]["uid"] == "103"
    assert web["volumes"][0]["tmpfs"]["size"] == 1024


def test_bad_duration_is_an_error() -> None:
    with pytest.raises(ComposeFileError, match="invalid duration") as info:
        _web("image: x\nstop_grace_period: soon\n")
    assert info.value.path == "services.web.stop_grace_period"


def test_volume_targets_cleaned() -> None:
    web = _web("image: x\nvolumes: [{type: volume, target: /a/../b/}]\n")
    assert web["volumes"][0]["target"] == "/b"


def test_pre_start_inherits_image() -> None:
    web = _web("image: x\npre_start: [{command: [a]}, {command: [b], image: y}]\n")
    assert [h["image"] for h in web["pre_start"]] == ["x", "y"]


def test_normalize_keeps_marks_and_input() -> None:
    doc = canonical(parse_yaml("services:\n  web:\n    image: x\n    environment: [A]\n", "c.yaml"))
    before = plain(doc)
    out = normalize(doc, NormalizeContext("p", PROJECT_DIR, {"A": "1"}))
    assert plain(doc) == before
    assert out["services"]["web"]["environment"].mark_of("A").line == 4


def test_plain_containers_from_earlier_stages_are_accepted() -> None:
    doc = MDict({"services": {"web": {"image": "x", "environment": {"A": None}, "ports": [{"target": 80}]}}})
    out = plain(normalize(doc, NormalizeContext("p", PROJECT_DIR, {"A": "1"})))
    assert out["services"]["web"]["environment"] == {"A": "1"}
    assert out["services"]["web"]["ports"] == [{"target": 80, "mode": "ingress", "protocol": "tcp"}]
