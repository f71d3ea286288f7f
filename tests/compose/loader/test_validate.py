"""Schema validation: verdicts on the corpus, messages, positions, speed."""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from compose.errors import ComposeFileError
from compose.loader.marks import plain
from compose.loader.validate import _checker, _schema, _validator, suggest, validate
from compose.loader.yamlfile import parse_yaml

HERE = Path(__file__).parent
CORPUS = HERE / "corpus"
REPO = HERE.parents[2]
REFERENCE = REPO.parent / "shared" / "reference" / "compose-spec.json"

VALID = sorted((CORPUS / "valid").glob("*.yaml"))
INVALID = sorted((CORPUS / "invalid").glob("*.yaml"))


def _load(path: Path) -> Any:
    return parse_yaml(path.read_text(encoding="utf-8"), path.name)


def _expectation(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name}: first line must be '# expect: <message part>'"
    return first.removeprefix("# expect: ").strip()


def _error(doc: Any, name: str) -> ComposeFileError:
    with pytest.raises(ComposeFileError) as info:
        validate(doc, name)
    return info.value


def test_corpus_is_large_enough() -> None:
    assert len(VALID) >= 65
    assert len(INVALID) >= 65


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_file_passes(path: Path) -> None:
    validate(_load(path), path.name)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_file_fails_with_expected_message(path: Path) -> None:
    doc = _load(path)
    err = _error(doc, path.name)
    assert _expectation(path) in str(err)
    assert re.match(rf"{re.escape(path.name)}:\d+:\d+: ", str(err)), str(err)
    if isinstance(doc, dict | list):  # a bare scalar has no position of its own
        assert err.mark is not None and err.mark.line > 1  # line 1 is the expectation comment


@pytest.mark.parametrize("path", VALID + INVALID, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_reference_schema_gives_the_same_verdict(path: Path) -> None:
    # ../shared lies beside every checkout and CI's clone: its absence fails here, it is not skipped.
    assert REFERENCE.exists(), f"the reference compose schema is missing: {REFERENCE}"
    reference = Draft202012Validator(json.loads(REFERENCE.read_text(encoding="utf-8")))
    assert reference.is_valid(plain(_load(path))) is (path.parent.name == "valid")


def test_schema_is_draft_2020_12() -> None:
    schema = _schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def _mutations(seed: int, count: int) -> Iterator[Any]:
    """Corpus documents with a value replaced, a key added or a key removed."""
    docs = [plain(_load(p)) for p in VALID + INVALID]
    docs = [d for d in docs if isinstance(d, dict)]
    values: list[Any] = [None, True, 0, -5, 150, 1.5, "", "x", "a b", "80:80", "all", "host", "sync",
                         [], {}, ["a"], ["a", "a"], [1], {"a": 1}, {"x-a": 1}, {"k": [1]}]
    rnd = random.Random(seed)
    for _ in range(count):
        doc = copy.deepcopy(rnd.choice(docs))
        spots: list[tuple[Any, Any]] = []
        stack: list[Any] = [doc]
        while stack:
            node = stack.pop()
            keys = list(node) if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else []
            for key in keys:
                spots.append((node, key))
                stack.append(node[key])
        if not spots:
            continue
        node, key = rnd.choice(spots)
        roll = rnd.random()
        if roll < 0.7:
            node[key] = copy.deepcopy(rnd.choice(values))
        elif isinstance(node, dict) and roll < 0.85:
            node[rnd.choice(["x-e", "bogus", "name", "a b", "external", "condition"])] = rnd.choice(values)
        elif isinstance(node, dict):
            del node[key]
        yield doc


def test_fast_checker_agrees_with_jsonschema() -> None:
    check, validator = _checker(), _validator()
    for doc in _mutations(seed=7, count=1500):
        assert check(doc) is validator.is_valid(doc), json.dumps(doc)[:400]


def test_every_invalid_mutation_gets_a_positioned_message() -> None:
    for doc in _mutations(seed=11, count=300):
        try:
            validate(doc, "m.yaml")
        except ComposeFileError as err:
            assert err.mark is not None and err.mark.file == "m.yaml"
            assert err.message and "\n" not in err.message


def test_empty_and_non_mapping_documents() -> None:
    assert "top-level object must be a mapping (the file is empty)" in str(_error(None, "e.yaml"))
    err = _error(parse_yaml("- a\n", "l.yaml"), "l.yaml")
    assert str(err) == "l.yaml:1:1: top-level object must be a mapping"
    assert str(_error(7, "s.yaml")).startswith("s.yaml:1:1: ")


def test_plain_documents_without_positions_still_name_the_file() -> None:
    err = _error({"services": {"web": {"imgae": "x"}}}, "plain.yaml")
    assert str(err) == "plain.yaml:1:1: services.web: unknown key 'imgae' (did you mean 'image'?)"


def test_unknown_key_points_at_the_key() -> None:
    text = "services:\n  web:\n    image: nginx\n    restrat: always\n"
    err = _error(parse_yaml(text, "c.yaml"), "c.yaml")
    assert str(err) == "c.yaml:4:5: services.web: unknown key 'restrat' (did you mean 'restart'?)"


def test_first_unknown_key_in_file_order() -> None:
    text = "services:\n  web:\n    zzz: 1\n    image: nginx\n    aaa: 2\n"
    assert "unknown key 'zzz'" in str(_error(parse_yaml(text, "c.yaml"), "c.yaml"))


def test_duplicate_points_at_the_repeated_item() -> None:
    text = "services:\n  web:\n    image: nginx\n    dns_opt:\n      - a\n      - b\n      - a\n"
    err = _error(parse_yaml(text, "d.yaml"), "d.yaml")
    assert str(err) == "d.yaml:7:9: services.web.dns_opt: duplicate item 'a'"


def test_extension_keys_allowed_where_the_spec_allows_them() -> None:
    text = "x-a: 1\nservices:\n  web:\n    x-b: 2\n    image: nginx\n    build:\n      x-c: 3\n"
    validate(parse_yaml(text, "x.yaml"), "x.yaml")
    bad = "services:\n  web:\n    image: nginx\n    blkio_config:\n      x-d: 1\n"
    assert "extension keys are not allowed here" in str(_error(parse_yaml(bad, "x.yaml"), "x.yaml"))


def test_reset_values_are_not_validated() -> None:
    text = "services:\n  web:\n    image: nginx\n    build: !reset null\n    ports: !reset 5\n"
    validate(parse_yaml(text, "r.yaml"), "r.yaml")
    text = "services:\n  web:\n    image: !override [nginx]\n"
    assert "services.web.image: must be a string" in str(_error(parse_yaml(text, "o.yaml"), "o.yaml"))


def test_suggest() -> None:
    assert suggest("imgae", ["image", "build"]) == "image"
    assert suggest("IMAGE", ["image", "build"]) == "image"
    assert suggest("zzzzzz", ["image", "build"]) is None
    assert suggest("x", []) is None


def _big_file(services: int) -> str:
    service = (
        "  web{i}:\n"
        "    image: nginx:1.{i}\n"
        "    build: {{context: ./app, args: [A=1]}}\n"
        "    ports: ['80{i}:80', {{target: 81, published: '9{i}'}}]\n"
        "    environment: {{A: 1, B: x}}\n"
        "    depends_on: {{db: {{condition: service_healthy}}}}\n"
        "    volumes: ['./data:/data', {{type: bind, source: ., target: /src}}]\n"
        "    healthcheck: {{test: [CMD, 'true'], interval: 5s}}\n"
        "    networks: [front, back]\n"
        "    deploy: {{resources: {{limits: {{cpus: '0.5', memory: 50M}}}}}}\n"
    )
    return "services:\n" + "".join(service.format(i=i) for i in range(services))


def test_500_services_validate() -> None:
    # Speed is measured by bench/config_bench.py, not asserted here.
    validate(parse_yaml(_big_file(500), "big.yaml"), "big.yaml")
