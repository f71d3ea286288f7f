from __future__ import annotations

import logging
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compose.errors import ComposeFileError, Mark
from compose.loader.interpolate import CAST_PATHS, interpolate, substitute
from compose.loader.marks import MDict, MList
from compose.loader.yamlfile import parse_yaml

ENV = {"A": "a", "EMPTY": "", "JSON": '{"json":2}', "lower": "lo"}

NO_ENV: dict[str, str] = {}


def sub(text: str, env: dict[str, str] | None = None) -> str:
    return substitute(text, (ENV if env is None else env).get)


def load(text: str, env: dict[str, str]) -> object:
    return interpolate(parse_yaml(textwrap.dedent(text), "compose.yaml"), env)


# --- substitute --------------------------------------------------------------

@pytest.mark.parametrize(("template", "expected"), [
    ("plain", "plain"),
    ("$A", "a"),
    ("${A}", "a"),
    ("x$A.y", "xa.y"),
    ("$A-b", "a-b"),
    ("${lower}", "lo"),
    ("${A:-d}", "a"), ("${UNSET:-d}", "d"), ("${EMPTY:-d}", "d"),
    ("${A-d}", "a"), ("${UNSET-d}", "d"), ("${EMPTY-d}", ""),
    ("${A:?e}", "a"), ("${EMPTY?e}", ""),
    ("${A:+alt}", "alt"), ("${UNSET:+alt}", ""), ("${EMPTY:+alt}", ""),
    ("${A+alt}", "alt"), ("${UNSET+alt}", ""), ("${EMPTY+alt}", "alt"),
    ("${UNSET:-}", ""),
    ("${UNSET-a:-b}", "a:-b"),
    ("${UNSET:-x-y+z?w}", "x-y+z?w"),
])
def test_operators(template: str, expected: str) -> None:
    assert sub(template) == expected


@pytest.mark.parametrize(("template", "expected"), [
    ("${UNSET:-${ALSO_UNSET:-x}}", "x"),
    ("${UNSET:-${A}}", "a"),
    ("${UNSET:-pre-${A}-post}", "pre-a-post"),
    ("${A:+${A},}B", "a,B"),
    ("${UNSET:-${X:-${Y:-${A}}}}", "a"),
    ('ok ${UNSET:-{"json":1}}', 'ok {"json":1}'),
    ('ok ${JSON-{"json":1}}', 'ok {"json":2}'),
    ("${UNSET:-$$}", "$"),
    ("${UNSET:-a}}", "a}"),
])
def test_nesting(template: str, expected: str) -> None:
    assert sub(template) == expected


@pytest.mark.parametrize(("template", "expected"), [
    ("$$", "$"),
    ("$$A", "$A"),
    ("$${A}", "${A}"),
    ("$$$A", "$a"),
    ("a $ b", "a $ b"),
    ("end$", "end$"),
    ("$1", "$1"),
    ("$-x", "$-x"),
    ("{A} }", "{A} }"),
])
def test_dollar_literals(template: str, expected: str) -> None:
    assert sub(template) == expected


def test_defaults_are_evaluated_lazily() -> None:
    assert sub("${A:-${MISSING:?never raised}}") == "a"
    assert sub("${UNSET:+${MISSING:?never raised}}") == ""


def test_unset_warns_once_per_name(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pycompose"):
        assert sub("$FOO ${FOO} $BAR") == "  "
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        'The "FOO" variable is not set. Defaulting to a blank string.',
        'The "BAR" variable is not set. Defaulting to a blank string.',
    ]


def test_defaults_do_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pycompose"):
        sub("${X:-d} ${X-d} ${X:+a} ${X+a}")
    assert caplog.records == []


def test_warning_carries_mark(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pycompose"):
        substitute("$NOPE", NO_ENV.get, Mark("f.yaml", 3, 7))
    assert caplog.records[0].getMessage().startswith("f.yaml:3:7: ")


@pytest.mark.parametrize(("template", "message"), [
    ("${FOO:?please set FOO}", "required variable FOO is missing a value: please set FOO"),
    ("${EMPTY:?empty}", "required variable EMPTY is missing a value: empty"),
    ("${FOO?unset}", "required variable FOO is missing a value: unset"),
    ("${FOO:?}", "required variable FOO is missing a value"),
    ("${FOO?with $A}", "required variable FOO is missing a value: with a"),
])
def test_required(template: str, message: str) -> None:
    mark = Mark("c.yaml", 2, 3)
    with pytest.raises(ComposeFileError) as info:
        substitute(template, ENV.get, mark, "services.web.image")
    assert info.value.message == message
    assert info.value.mark == mark
    assert str(info.value) == f"c.yaml:2:3: services.web.image: {message}"


@pytest.mark.parametrize("template", [
    "${", "${}", "${ A}", "${A }", "${A!}", "${FOO", "${FOO:x}", "${1}", "a ${FOO:-x", "${A:-${}}",
    "${A:-${B}",
])
def test_invalid_format(template: str) -> None:
    with pytest.raises(ComposeFileError, match="invalid interpolation format") as info:
        substitute(template, ENV.get, Mark("c.yaml", 1, 1))
    assert info.value.mark == Mark("c.yaml", 1, 1)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    template = "${A:-" * 500 + "x" + "}" * 500
    with pytest.raises(ComposeFileError):
        sub(template)


@given(st.text(alphabet=st.sampled_from(list("${}:-+?_aA1 \n\\'\"")), max_size=40) | st.text(max_size=40))
def test_random_text_raises_only_compose_errors(text: str) -> None:
    env = {"a": "x", "A": ""}
    try:
        result = substitute(text, env.get)
    except ComposeFileError:
        return
    assert isinstance(result, str)
    if "$" not in text:
        assert result == text


# --- interpolate over a document -------------------------------------------

def test_interpolates_values_not_keys_and_keeps_marks() -> None:
    doc = parse_yaml("services:\n  ${A}:\n    image: img:${TAG:-latest}\n    command: [echo, $A]\n",
                     "c.yaml")
    out = interpolate(doc, {"A": "a"})
    assert isinstance(out, MDict)
    assert out is not doc
    web = out["services"]["${A}"]
    assert web["image"] == "img:latest"
    assert web["command"] == ["echo", "a"]
    assert isinstance(web["command"], MList)
    assert web.key_marks["image"] == Mark("c.yaml", 3, 5)
    assert web["command"].item_marks == doc["services"]["${A}"]["command"].item_marks
    assert doc["services"]["${A}"]["image"] == "img:${TAG:-latest}"  # input untouched


def test_keeps_tags_and_non_strings() -> None:
    text = "services:\n  web:\n    ports: !reset []\n    x: 1\n    y: true\n    z: null\n"
    doc = parse_yaml(text, "c.yaml")
    out = interpolate(doc, {})
    web = out["services"]["web"]
    assert web.tags == {"ports": "reset"}
    assert (web["x"], web["y"], web["z"]) == (1, True, None)


def test_error_has_value_position_and_path() -> None:
    text = """\
    services:
      web:
        image: ${IMAGE:?set IMAGE}
    """
    with pytest.raises(ComposeFileError) as info:
        load(text, {})
    assert str(info.value) == (
        "compose.yaml:3:5: services.web.image: required variable IMAGE is missing a value: set IMAGE"
    )


def test_invalid_format_in_list_item_position() -> None:
    text = """\
    services:
      web:
        command:
          - ok
          - ${oops
    """
    with pytest.raises(ComposeFileError) as info:
        load(text, {})
    assert info.value.mark == Mark("compose.yaml", 5, 9)
    assert info.value.path == "services.web.command[1]"


def test_warns_once_per_document(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pycompose"):
        load("a: $X\nb: [$X, $X]\n", {})
    assert len(caplog.records) == 1
    assert caplog.records[0].getMessage().startswith("compose.yaml:1:1: ")


# --- casts -------------------------------------------------------------------

def test_casts_after_interpolation() -> None:
    text = """\
    services:
      web:
        deploy:
          replicas: ${N}
          update_config: {parallelism: "2", max_failure_ratio: "0.5"}
        privileged: ${P}
        read_only: "FALSE"
        tty: "True"
        init: "false"
        stdin_open: "true"
        cpus: "1.5"
        cpu_shares: "512"
        pids_limit: "-1"
        oom_score_adj: "-500"
        scale: "3"
        healthcheck: {retries: "${R}", disable: "false"}
        ports: [{target: "${PORT}", published: "${PORT}"}, "8080:80"]
        ulimits: {nproc: "65535", nofile: {soft: "20000", hard: "40000"}}
        volumes: [{type: bind, source: ., target: /x, read_only: "true"}]
        depends_on: {db: {condition: service_started, required: "false"}}
        image: "${N}"
    networks:
      front: {external: "true", internal: "false", attachable: "true", enable_ipv6: "false"}
    volumes:
      data: {external: "true"}
    secrets:
      s: {external: "false"}
    configs:
      c: {external: "true"}
    """
    out = load(text, {"N": "3", "P": "true", "R": "5", "PORT": "80"})
    assert isinstance(out, MDict)
    web = out["services"]["web"]
    assert web["deploy"]["replicas"] == 3
    assert web["deploy"]["update_config"] == {"parallelism": 2, "max_failure_ratio": 0.5}
    assert web["privileged"] is True
    assert web["read_only"] is False
    assert web["tty"] is True
    assert web["init"] is False
    assert web["stdin_open"] is True
    assert web["cpus"] == 1.5
    assert (web["cpu_shares"], web["pids_limit"], web["oom_score_adj"], web["scale"]) == (512, -1, -500, 3)
    assert web["healthcheck"] == {"retries": 5, "disable": False}
    assert web["ports"] == [{"target": 80, "published": "80"}, "8080:80"]
    assert web["ulimits"] == {"nproc": 65535, "nofile": {"soft": 20000, "hard": 40000}}
    assert web["volumes"][0]["read_only"] is True
    assert web["depends_on"]["db"]["required"] is False
    assert web["image"] == "3"  # not a typed path: stays a string
    assert out["networks"]["front"] == {
        "external": True, "internal": False, "attachable": True, "enable_ipv6": False,
    }
    assert out["volumes"]["data"]["external"] is True
    assert out["secrets"]["s"]["external"] is False
    assert out["configs"]["c"]["external"] is True


@pytest.mark.parametrize(("text", "expected"), [
    ("y", True), ("YES", True), ("On", True), ("n", False), ("No", False), ("OFF", False),
])
def test_yaml11_booleans_are_accepted_with_a_warning(
    text: str, expected: bool, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="pycompose"):
        out = load(f"services:\n  web:\n    tty: {text}\n", {})
    assert out["services"]["web"]["tty"] is expected  # type: ignore[index]
    assert "not supported by YAML 1.2" in caplog.records[0].getMessage()


def test_only_strings_are_cast() -> None:
    out = load("services:\n  web:\n    tty: true\n    scale: 2\n    cpus: 0.5\n", {})
    assert out["services"]["web"] == {"tty": True, "scale": 2, "cpus": 0.5}  # type: ignore[index]


@pytest.mark.parametrize(("key", "value", "message"), [
    ("privileged", "maybe", 'invalid boolean "maybe"'),
    ("scale", "two", 'invalid integer "two"'),
    ("scale", "1.5", 'invalid integer "1.5"'),
    ("scale", " 1", 'invalid integer " 1"'),
    ("pids_limit", "99999999999999999999", "out of range"),
    ("cpus", "lots", 'invalid number "lots"'),
    ("tty", "", 'invalid boolean ""'),
])
def test_cast_errors_have_positions(key: str, value: str, message: str) -> None:
    with pytest.raises(ComposeFileError, match=message) as info:
        load(f"services:\n  web:\n    image: x\n    {key}: ${{V}}\n", {"V": value})
    assert info.value.mark == Mark("compose.yaml", 4, 5)
    assert info.value.path == f"services.web.{key}"


def test_cast_table_shape() -> None:
    patterns = [pattern for pattern, _ in CAST_PATHS]
    assert len(patterns) == len(set(patterns))
    assert ("services", "*", "deploy", "replicas") in patterns
    assert ("services", "*", "ports", "[]", "target") in patterns


def test_list_index_does_not_match_a_key_wildcard() -> None:
    out = load("networks:\n  - external: 'true'\n", {})
    assert out["networks"][0]["external"] == "true"  # type: ignore[index]
