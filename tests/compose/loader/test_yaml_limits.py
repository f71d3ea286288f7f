"""Alias expansion, nesting depth and unreadable characters, in process (both YAML readers)."""

from __future__ import annotations

import pytest

from compose.errors import ComposeFileError
from compose.loader import yamlfile
from compose.loader.yaml_limits import MAX_ALIASED, MAX_DEPTH, allowed_alias_ratio, excessive_aliasing, may_alias

READERS = ["libyaml", "python"] if yamlfile._NodeReader is not yamlfile._PyNodeReader else ["python"]


@pytest.fixture(params=READERS)
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "python":
        monkeypatch.setattr(yamlfile, "_NodeReader", yamlfile._PyNodeReader)
    return str(request.param)


def error_of(text: str) -> str:
    with pytest.raises(ComposeFileError) as info:
        yamlfile.parse_yaml(text, "c.yaml")
    return str(info.value)


def test_go_yaml_ratio_curve() -> None:
    assert allowed_alias_ratio(1_000) == 0.99
    assert allowed_alias_ratio(400_000) == 0.99
    assert allowed_alias_ratio(2_200_000) == pytest.approx(0.545)
    assert allowed_alias_ratio(4_000_000) == 0.10
    assert not excessive_aliasing(1_000, 10)  # small documents may be mostly aliases
    assert excessive_aliasing(10_000, 50)
    assert not excessive_aliasing(10_000, 5_000)
    assert excessive_aliasing(MAX_ALIASED * 4, MAX_ALIASED * 3 - 1)  # few aliases, but too many nodes from them


def test_anchors_as_people_use_them_are_fine(reader: str) -> None:
    common = "x-common: &common\n  image: busybox\n  environment: {A: '1', B: '2'}\n  labels: [a, b, c]\n"
    services = "".join(f"  s{i}:\n    <<: *common\n    command: [echo, '{i}']\n" for i in range(500))
    doc = yamlfile.parse_yaml(common + "services:\n" + services, "c.yaml")
    assert doc["services"]["s499"]["image"] == "busybox"
    assert doc["services"]["s7"]["environment"] == {"A": "1", "B": "2"}


def test_billion_laughs_is_refused_before_it_is_built(reader: str) -> None:
    lines = ['x-0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"x-{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    message = error_of("\n".join(lines) + "\n")
    assert message.startswith("c.yaml:9:6: invalid YAML: document contains excessive aliasing"), message
    assert "aliased 9 times" in message


def test_merge_key_bomb_is_refused(reader: str) -> None:
    lines = ["x-0: &a0 {" + ", ".join(f"k{j}: lol" for j in range(9)) + "}"]
    for i in range(1, 8):
        lines.append(f"x-{i}: &a{i} {{" + ", ".join(f"k{j}: {{<<: *a{i - 1}}}" for j in range(9)) + "}")
    assert "excessive aliasing" in error_of("\n".join(lines) + "\n")


def test_expansion_just_under_the_limit_is_built(reader: str) -> None:
    items = ", ".join(f"k{i}" for i in range(999))
    count = MAX_ALIASED // 1000 - 1
    doc = yamlfile.parse_yaml(f"x-a: &a [{items}]\nx-b: [" + ", ".join(["*a"] * count) + "]\n", "c.yaml")
    assert len(doc["x-b"]) == count and doc["x-b"][0] == doc["x-a"]
    text = f"x-a: &a [{items}]\nx-b: [" + ", ".join(["*a"] * (count + 3)) + "]\n"
    assert "excessive aliasing" in error_of(text)


def test_recursive_alias(reader: str) -> None:
    assert error_of("a: &a [1, [2, *a]]\n") == "c.yaml:1:4: invalid YAML: the anchor here is aliased inside itself"


@pytest.mark.parametrize("opening, closing", [("[", "]"), ("{a: ", "}")])
def test_depth_limit(reader: str, opening: str, closing: str) -> None:
    at_limit = "x: " + opening * (MAX_DEPTH - 1) + "1" + closing * (MAX_DEPTH - 1) + "\n"
    assert yamlfile.parse_yaml(at_limit, "c.yaml") is not None
    for depth in (MAX_DEPTH, 5_000):
        over = "x: " + opening * depth + "1" + closing * depth + "\n"
        message = error_of(over)
        assert "exceeded maximum nesting depth" in message and message.startswith("c.yaml:1:"), message


def test_depth_through_aliases(reader: str) -> None:
    lines = ["x-0: &a0 [end]"] + [f"x-{i}: &a{i} [*a{i - 1}]" for i in range(1, MAX_DEPTH + 1)]
    assert "exceeded maximum nesting depth of 100" in error_of("\n".join(lines) + "\n")


def test_deep_block_mapping(reader: str) -> None:
    text = "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 5)) + "  " * (MAX_DEPTH + 5) + "leaf\n"
    assert "exceeded maximum nesting depth" in error_of(text)


@pytest.mark.parametrize("text, where, char", [
    ("a: b\nc: d\x01e\n", "2:5", "control character U+0001"),
    ("a: é\nc: 'x\x7f'\n", "2:6", "control character U+007F"),
    ("# ünïcödé\nc: \"\x1b\"\n", "2:5", "control character U+001B"),
    ("a: \ufffe\n", "1:4", "character U+FFFE"),
])
def test_control_characters_at_their_position(reader: str, text: str, where: str, char: str) -> None:
    assert error_of(text) == f"c.yaml:{where}: invalid YAML: {char} is not allowed"


def test_lone_surrogate_from_stdin(reader: str) -> None:
    message = error_of("a:\n  b: \udcff\n")
    assert message.startswith("c.yaml:2:6: invalid YAML: ") and "\n" not in message


@pytest.mark.parametrize("text", [
    "a: &x 1\nb: *x\n", "a: &x 1\nb:\n- *x\n", "a: &x 1\nb: [*x,*x]\n", "a: &x 1\nb: {k: *x}\n",
    "a: &x {}\nb:\n  <<: *x\n", "a: &x {}\nb: {<<: [*x]}\n", '{"a": &x 1, "b":*x}\n', "a: &x 1\nb:\t*x\n",
    "a: &x 1\n? *x\n: 1\n", "--- &x [a]\n",
])
def test_may_alias_never_misses_one(text: str) -> None:
    assert may_alias(text) or "*" not in text


def test_may_alias_spares_files_without_aliases() -> None:
    assert not may_alias("services:\n  web:\n    command: sh -c 'a && b'\n    image: x\n")
    assert not may_alias("x: a*b\n")
