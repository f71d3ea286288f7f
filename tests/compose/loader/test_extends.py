"""extends: same file, other files, chains, cycles, paths, directives."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

from compose.errors import ComposeFileError
from compose.loader.extends import apply_extends, rebase_service_paths
from compose.loader.marks import MDict, plain
from compose.loader.merge import merge
from compose.loader.yamlfile import parse_yaml


def load(text: str, file: str = "compose.yaml") -> MDict:
    doc = parse_yaml(textwrap.dedent(text), file)
    assert isinstance(doc, MDict)
    return doc


def read(path: Path) -> MDict:
    return load(path.read_text(), str(path))


def no_files(path: Path) -> MDict:
    raise AssertionError(f"unexpected load of {path}")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def services(doc: Any) -> Any:
    return plain(doc)["services"]


# --- same file ---------------------------------------------------------------

def test_string_form_inherits_and_local_wins() -> None:
    doc = load("""
        services:
          base:
            image: a
            environment: {A: "1", B: "2"}
            command: [run]
          web:
            extends: base
            environment: {B: "3"}
            ports: [{target: 80}]
        """)
    out = services(apply_extends(doc, Path("compose.yaml"), no_files))
    assert out["web"] == {
        "image": "a", "environment": {"A": "1", "B": "3"}, "command": ["run"], "ports": [{"target": 80}]
    }
    assert out["base"] == {"image": "a", "environment": {"A": "1", "B": "2"}, "command": ["run"]}


def test_mapping_form_without_file_and_chain() -> None:
    doc = load("""
        services:
          web: {extends: {service: mid}, user: web}
          mid: {extends: {service: root}, cap_add: [B], user: mid}
          root: {image: r, cap_add: [A]}
        """)
    out = services(apply_extends(doc, Path("compose.yaml"), no_files))
    assert out["web"] == {"image": "r", "cap_add": ["A", "B"], "user": "web"}
    assert out["mid"] == {"image": "r", "cap_add": ["A", "B"], "user": "mid"}


def test_dependencies_are_inherited() -> None:
    doc = load("""
        services:
          base: {image: a, depends_on: {db: {condition: service_started}}, links: [db], volumes_from: [db]}
          web: {extends: base}
          db: {image: d}
        """)
    web = services(apply_extends(doc, Path("compose.yaml"), no_files))["web"]
    assert web["depends_on"] == {"db": {"condition": "service_started"}}
    assert web["links"] == ["db"] and web["volumes_from"] == ["db"]


def test_input_is_not_changed() -> None:
    doc = load("services: {base: {image: a}, web: {extends: base}}")
    before = plain(doc)
    apply_extends(doc, Path("compose.yaml"), no_files)
    assert plain(doc) == before


def test_cycle_names_the_chain_with_position() -> None:
    doc = load("services:\n  a:\n    extends: b\n  b:\n    extends: a\n")
    with pytest.raises(ComposeFileError) as info:
        apply_extends(doc, Path("compose.yaml"), no_files)
    assert info.value.message == "extends cycle: a -> b -> a"
    assert info.value.mark is not None and (info.value.mark.line, info.value.mark.col) == (5, 5)


def test_self_extends_is_a_cycle() -> None:
    with pytest.raises(ComposeFileError, match="extends cycle: a -> a"):
        apply_extends(load("services: {a: {extends: a}}"), Path("compose.yaml"), no_files)


def test_missing_base_service() -> None:
    doc = load("services:\n  web:\n    extends:\n      service: nope\n")
    with pytest.raises(ComposeFileError) as info:
        apply_extends(doc, Path("compose.yaml"), no_files)
    assert 'service "nope" not found' in info.value.message
    assert info.value.mark is not None and info.value.mark.line == 4
    assert info.value.path == "services.web.extends"


def test_reset_in_local_removes_base_value_and_stays_for_next_merge() -> None:
    previous = load("services: {web: {image: p, command: [old]}}", "first.yaml")
    doc = load("""
        services:
          init: {image: alpine, command: [sleep, infinity]}
          web:
            extends: init
            command: !reset
        """, "second.yaml")
    extended = apply_extends(doc, Path("second.yaml"), no_files)
    assert "command" not in services(merge(MDict(), extended))["web"]
    assert services(merge(previous, extended))["web"] == {"image": "alpine"}


def test_override_in_local_replaces_base_list() -> None:
    doc = load("""
        services:
          base: {image: a, ports: [{target: 80}]}
          web:
            extends: base
            ports: !override [{target: 81}]
        """)
    out = services(merge(MDict(), apply_extends(doc, Path("compose.yaml"), no_files)))
    assert out["web"]["ports"] == [{"target": 81}]


def test_reset_inside_base_chain() -> None:
    # compose-go testdata/extends/reset.yaml: `base` resets what `init` had
    doc = load("""
        services:
          init: {image: alpine, command: [sleep, infinity]}
          base:
            extends: {service: init}
            command: !reset
          test: {extends: base}
        """)
    out = services(merge(MDict(), apply_extends(doc, Path("compose.yaml"), no_files)))
    assert out["test"] == {"image": "alpine"}


# --- other files -------------------------------------------------------------

def test_base_from_other_file_gets_absolute_paths(tmp_path: Path) -> None:
    write(tmp_path / "sub" / "base.yaml", """
        services:
          base:
            image: a
            build:
              context: .
              additional_contexts: {x: ../x, y: "docker-image://alpine"}
              ssh: {default: null, k: ./key}
            env_file: [{path: ./a.env, required: true}]
            label_file: [labels.txt]
            volumes:
              - {type: bind, source: ./data, target: /data}
              - {type: bind, source: /abs, target: /abs}
              - {type: bind, source: ~/home, target: /home}
              - {type: volume, source: named, target: /named}
            develop: {watch: [{path: ./src, action: sync}]}
        """)
    main = tmp_path / "compose.yaml"
    doc = load("""
        services:
          web:
            extends: {file: sub/base.yaml, service: base}
            env_file: [{path: ./local.env, required: true}]
        """, str(main))
    web = services(apply_extends(doc, main, read))["web"]
    sub = str(tmp_path / "sub")
    assert web["build"] == {
        "context": sub, "additional_contexts": {"x": str(tmp_path / "x"), "y": "docker-image://alpine"},
        "ssh": {"default": None, "k": f"{sub}/key"},
    }
    assert web["env_file"] == [{"path": f"{sub}/a.env", "required": True}, {"path": "./local.env", "required": True}]
    assert web["label_file"] == [f"{sub}/labels.txt"]
    assert [v["source"] for v in web["volumes"]] == [f"{sub}/data", "/abs", os.path.expanduser("~/home"), "named"]
    assert web["develop"]["watch"][0]["path"] == f"{sub}/src"


def test_remote_build_context_is_kept(tmp_path: Path) -> None:
    write(tmp_path / "base.yaml", "services: {b: {build: {context: 'https://github.com/x/y.git'}}}")
    main = tmp_path / "compose.yaml"
    doc = load("services: {web: {extends: {file: base.yaml, service: b}}}", str(main))
    assert services(apply_extends(doc, main, read))["web"]["build"] == {"context": "https://github.com/x/y.git"}


def test_nested_files_resolve_against_their_own_folders(tmp_path: Path) -> None:
    write(tmp_path / "a" / "mid.yaml", """
        services:
          mid:
            extends: {file: ../b/root.yaml, service: root}
            env_file: [{path: mid.env, required: true}]
          other: {image: unused}
        """)
    write(tmp_path / "b" / "root.yaml", """
        services:
          root:
            extends: inner
            build: {context: ./ctx}
          inner: {image: r, label_file: [inner.labels]}
        """)
    main = tmp_path / "compose.yaml"
    doc = load("services: {web: {extends: {file: a/mid.yaml, service: mid}}}", str(main))
    web = services(apply_extends(doc, main, read))["web"]
    assert web == {
        "image": "r",
        "label_file": [str(tmp_path / "b" / "inner.labels")],
        "build": {"context": str(tmp_path / "b" / "ctx")},
        "env_file": [{"path": str(tmp_path / "a" / "mid.env"), "required": True}],
    }


def test_each_file_is_loaded_once(tmp_path: Path) -> None:
    write(tmp_path / "base.yaml", "services: {b: {image: a}, c: {image: c}}")
    main = tmp_path / "compose.yaml"
    doc = load("""
        services:
          one: {extends: {file: base.yaml, service: b}}
          two: {extends: {file: ./base.yaml, service: c}}
        """, str(main))
    loaded: list[Path] = []

    def counting(path: Path) -> MDict:
        loaded.append(path)
        return read(path)

    out = services(apply_extends(doc, main, counting))
    assert out == {"one": {"image": "a"}, "two": {"image": "c"}}
    assert loaded == [tmp_path / "base.yaml"]


def test_cycle_across_files(tmp_path: Path) -> None:
    main = write(tmp_path / "compose.yaml", "services:\n  web:\n    extends: {file: other.yaml, service: x}\n")
    write(tmp_path / "other.yaml", "services:\n  x:\n    extends: {file: compose.yaml, service: web}\n")
    with pytest.raises(ComposeFileError) as info:
        apply_extends(read(main), main, read)
    assert info.value.message == "extends cycle: web (compose.yaml) -> x (other.yaml) -> web (compose.yaml)"
    assert info.value.mark is not None and info.value.mark.file == str(tmp_path / "other.yaml")


def test_missing_service_in_other_file(tmp_path: Path) -> None:
    write(tmp_path / "base.yaml", "services: {b: {image: a}}")
    main = tmp_path / "compose.yaml"
    doc = load("services:\n  web:\n    extends: {file: base.yaml, service: nope}\n", str(main))
    with pytest.raises(ComposeFileError, match=r'service "nope" not found in base\.yaml') as info:
        apply_extends(doc, main, read)
    assert info.value.mark is not None and info.value.mark.line == 3


def test_missing_file_is_a_compose_error(tmp_path: Path) -> None:
    main = tmp_path / "compose.yaml"
    doc = load("services:\n  web:\n    extends: {file: gone.yaml, service: b}\n", str(main))
    with pytest.raises(ComposeFileError, match="cannot read extends file") as info:
        apply_extends(doc, main, read)
    assert info.value.mark is not None and info.value.mark.line == 3


def test_rebase_leaves_input_alone() -> None:
    service = load("volumes: [{type: bind, source: ./d, target: /d}]\nbuild: {context: .}\n")
    before = plain(service)
    out = rebase_service_paths(service, "/p")
    assert plain(out) == {"volumes": [{"type": "bind", "source": "/p/d", "target": "/d"}], "build": {"context": "/p"}}
    assert plain(service) == before
