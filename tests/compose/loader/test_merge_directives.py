"""Merge directives (`!reset`, `!override`), positions and purity of the merge stage."""

from __future__ import annotations

from compose.loader.marks import OVERRIDE, RESET, MDict, plain
from compose.loader.merge import merge, merge_service, strip_tags
from tests.compose.loader.test_merge import load, merged, web

# --- directives --------------------------------------------------------------

def test_reset_removes_key_and_override_replaces() -> None:
    got = web(
        """
        services:
          web:
            image: a
            build: {context: .}
            ports: [{target: 80}]
            environment: {A: '1', B: '2'}
        """,
        """
        services:
          web:
            build: !reset
            ports: !reset []
            environment: !override {C: '3'}
        """,
    )
    assert got == {"image": "a", "environment": {"C": "3"}}


def test_reset_of_one_environment_variable() -> None:
    got = web(
        "services: {web: {environment: {FOO: BAR, KEEP: '1'}}}",
        "services:\n  web:\n    environment:\n      FOO: !reset\n",
    )
    assert got == {"environment": {"KEEP": "1"}}


def test_override_list_replaces_instead_of_appending() -> None:
    got = web(
        "services: {web: {ports: [{target: 80}], dns: [a]}}",
        "services: {web: {ports: !override [{target: 81}]}}",
    )
    assert got == {"ports": [{"target": 81}], "dns": ["a"]}


def test_reset_in_new_service_applies_and_no_tags_remain() -> None:
    result = merged("services: {web: {image: a}}", "services:\n  db:\n    image: !override b\n    command: !reset x\n")
    assert plain(result)["services"]["db"] == {"image": "b"}
    assert result["services"]["db"].tags == {}


def test_strip_tags_applies_directives_of_one_doc() -> None:
    doc = load("""
        services:
          web:
            image: !override a
            command: !reset [x]
            ports: [{target: 80}, {target: 80}]
        """)
    stripped = strip_tags(doc)
    assert plain(stripped) == {"services": {"web": {"image": "a", "ports": [{"target": 80}]}}}
    assert stripped["services"]["web"].tags == {}
    assert doc["services"]["web"].tags == {"image": OVERRIDE, "command": RESET}


def test_merge_service_can_keep_directives() -> None:
    base = load("command: [a]\nimage: x\nenvironment: {A: '1'}\n")
    over = load("command: !reset []\nimage: !override y\nenvironment: {B: '2'}\n")
    out = merge_service(base, over, "web", keep_directives=True)
    assert plain(out) == {"command": [], "image": "y", "environment": {"A": "1", "B": "2"}}
    assert out.tags == {"command": RESET, "image": OVERRIDE}
    assert plain(merge(load("services: {web: {command: [z]}}"), MDict(services=MDict(web=out)))) == {
        "services": {"web": {"image": "y", "environment": {"A": "1", "B": "2"}}}
    }


# --- positions and purity ----------------------------------------------------

def test_inputs_untouched_and_marks_follow_values() -> None:
    base = load("services:\n  web:\n    image: a\n    user: me\n    ports: [{target: 80}]\n", "base.yml")
    over = load("services:\n  web:\n    image: b\n    ports: [{target: 81}]\n", "over.yml")
    before = (plain(base), plain(over))
    out = merge(base, over)
    assert (plain(base), plain(over)) == before
    service = out["services"]["web"]
    assert service.key_marks["image"].file == "over.yml"
    assert service.key_marks["user"].file == "base.yml"
    assert [m.file for m in service["ports"].item_marks] == ["base.yml", "over.yml"]
    assert service["ports"] is not base["services"]["web"]["ports"]


def test_single_file_duplicates_resolved_like_compose_go() -> None:
    doc = load("""
        services:
          web:
            environment: [FOO=BAR, BAR=QIX, FOO=ZOT]
            volumes: [{type: bind, source: ., target: /foo}, {type: volume, source: src, target: /foo}]
        """)
    assert plain(merge(MDict(), doc))["services"]["web"] == {
        "environment": ["FOO=ZOT", "BAR=QIX"],
        "volumes": [{"type": "volume", "source": "src", "target": "/foo"}],
    }


def test_empty_documents() -> None:
    assert plain(merge(None, load("services: {web: {image: a}}"))) == {"services": {"web": {"image": "a"}}}
    assert plain(merge(load("services: {web: {image: a}}"), None)) == {"services": {"web": {"image": "a"}}}


def test_merging_with_an_empty_doc_is_strip_tags() -> None:
    doc = load("""
        services:
          web:
            image: !override a
            command: !reset [x]
            environment: [A=1, A=2]
            ports: [{target: 80}]
        """)
    expected = plain(strip_tags(doc))
    assert plain(merge(MDict(), doc)) == expected
    assert plain(merge(doc, MDict())) == expected
    assert expected == {"services": {"web": {"image": "a", "environment": ["A=2"], "ports": [{"target": 80}]}}}
