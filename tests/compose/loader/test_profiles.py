"""Profiles: which services are active, and what an active one may not need."""

from __future__ import annotations

import textwrap

import pytest

from compose.errors import ComposeFileError
from compose.loader.marks import MDict, plain
from compose.loader.profiles import all_profiles, apply_profiles
from compose.loader.yamlfile import parse_yaml

DOC = """
services:
  web: {image: w}
  debug: {image: d, profiles: [debug]}
  tools: {image: t, profiles: [debug, tools]}
  db: {image: p, profiles: [db]}
"""


def load(text: str = DOC) -> MDict:
    doc = parse_yaml(textwrap.dedent(text), "compose.yaml")
    assert isinstance(doc, MDict)
    return doc


def names(doc: MDict) -> list[str]:
    return list(doc["services"])


def test_services_without_profiles_are_always_active() -> None:
    assert names(apply_profiles(load(), [])) == ["web"]


def test_enabled_profile_activates_its_services() -> None:
    assert names(apply_profiles(load(), ["debug"])) == ["web", "debug", "tools"]
    assert names(apply_profiles(load(), ["tools", "db"])) == ["web", "tools", "db"]


def test_star_enables_every_profile() -> None:
    assert names(apply_profiles(load(), ["*"])) == ["web", "debug", "tools", "db"]


def test_requested_service_enables_its_profiles() -> None:
    # `tools` brings profile debug and tools, so `debug` comes along too
    assert names(apply_profiles(load(), [], ["tools"])) == ["web", "debug", "tools"]
    assert names(apply_profiles(load(), [], ["web"])) == ["web"]


def test_requested_unknown_service() -> None:
    with pytest.raises(ComposeFileError) as info:
        apply_profiles(load(), [], ["nope"])
    assert str(info.value) == "no such service: nope"
    assert info.value.mark is None


def test_input_is_not_changed_and_marks_kept() -> None:
    doc = load()
    before = plain(doc)
    out = apply_profiles(doc, [])
    assert plain(doc) == before
    assert set(out["services"].key_marks) == {"web"}
    assert out["services"]["web"] is doc["services"]["web"]


def test_required_dependency_on_disabled_service_is_an_error() -> None:
    doc = load("""
        services:
          web:
            image: w
            depends_on:
              db: {condition: service_started, required: true}
          db: {image: p, profiles: [db, data]}
        """)
    with pytest.raises(ComposeFileError) as info:
        apply_profiles(doc, [])
    assert 'service "web" depends on service "db" which is disabled by profile(s): db, data' in info.value.message
    assert info.value.path == "services.web.depends_on.db"
    assert info.value.mark is not None and (info.value.mark.line, info.value.mark.col) == (6, 7)
    assert names(apply_profiles(doc, ["data"])) == ["web", "db"]


def test_optional_dependency_on_disabled_service_is_dropped() -> None:
    doc = load("""
        services:
          web:
            image: w
            depends_on:
              db: {condition: service_started, required: false}
              cache: {condition: service_started}
          db: {image: p, profiles: [db]}
          cache: {image: c}
        """)
    out = apply_profiles(doc, [])
    assert plain(out)["services"]["web"]["depends_on"] == {"cache": {"condition": "service_started"}}
    assert "db" in doc["services"]["web"]["depends_on"]


@pytest.mark.parametrize(("key", "value", "path"), [
    ("links", "[db:database]", "services.web.links[0]"),
    ("volumes_from", "['db:ro']", "services.web.volumes_from[0]"),
    ("network_mode", "'service:db'", "services.web.network_mode"),
    ("ipc", "'service:db'", "services.web.ipc"),
    ("pid", "'service:db'", "services.web.pid"),
])
def test_other_references_to_disabled_service(key: str, value: str, path: str) -> None:
    doc = load(f"services:\n  web:\n    image: w\n    {key}: {value}\n  db: {{image: p, profiles: [x]}}\n")
    with pytest.raises(ComposeFileError, match='depends on service "db"') as info:
        apply_profiles(doc, [])
    assert info.value.path == path
    assert info.value.mark is not None and info.value.mark.line == 4


def test_references_that_are_not_profile_problems_pass() -> None:
    doc = load("""
        services:
          web:
            image: w
            volumes_from: ["container:other"]
            network_mode: host
            depends_on: {ghost: {condition: service_started}}
        """)
    assert names(apply_profiles(doc, [])) == ["web"]


def test_disabled_services_may_reference_each_other() -> None:
    doc = load("""
        services:
          web: {image: w}
          a: {image: a, profiles: [x], depends_on: {b: {condition: service_started}}}
          b: {image: b, profiles: [y]}
        """)
    assert names(apply_profiles(doc, [])) == ["web"]
    with pytest.raises(ComposeFileError, match='service "a" depends on service "b"'):
        apply_profiles(doc, [], ["a"])


def test_all_profiles_sorted_unique() -> None:
    assert all_profiles(load()) == ["db", "debug", "tools"]
    assert all_profiles(load("services: {web: {image: w}}")) == []
    assert all_profiles(MDict()) == []


def test_doc_without_services() -> None:
    assert plain(apply_profiles(load("volumes: {v: {}}"), [])) == {"volumes": {"v": {}}}
