"""Random mappings and random YAML text through the whole loader: only our error type may escape."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compose.errors import ComposeError
from compose.loader.project import LoadOptions, load_project

KEYS = [
    "image", "build", "command", "entrypoint", "environment", "env_file", "ports", "volumes", "depends_on",
    "networks", "network_mode", "healthcheck", "restart", "labels", "profiles", "extends", "links",
    "volumes_from", "secrets", "configs", "deploy", "scale", "expose", "extra_hosts", "ulimits", "tmpfs",
    "mem_limit", "stop_grace_period", "condition", "target", "published", "source", "type", "test",
    "interval", "external", "name", "driver", "aliases", "x-ext", "file", "service", "required", "path",
]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 70000), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["busybox", "80:80", "./data:/data", "${X:-y}", "$$", "${", "1m30s", "512m", "a=b", "db",
                     "service:db", "host", "CMD", "~/x", "../up", "/abs", "", "*"]),
    st.text(max_size=12),
)
KEY = st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=8))
VALUES = st.recursive(
    SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEY, inner, max_size=5)),
    max_leaves=25,
)
SERVICES = st.dictionaries(st.sampled_from(["web", "db", "cache", "x y", "1"]), st.dictionaries(KEY, VALUES,
                           max_size=6), max_size=3)
DOCUMENTS = st.fixed_dictionaries(
    {"services": SERVICES},
    optional={
        "networks": st.dictionaries(st.sampled_from(["front", "default"]), VALUES, max_size=2),
        "volumes": st.dictionaries(st.sampled_from(["data"]), VALUES, max_size=1),
        "name": SCALARS,
        "include": VALUES,
        "version": SCALARS,
    },
)


def _load(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "compose.yaml").write_text(text)
        with contextlib.suppress(ComposeError):
            load_project(LoadOptions(working_dir=Path(folder), environ={"X": "1"}))


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(DOCUMENTS)
def test_random_mappings_raise_only_compose_errors(doc: dict[str, Any]) -> None:
    _load(yaml.safe_dump(doc))


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("ab:-[]{}'\"#&*!|>\n $,.0")), max_size=80))
def test_random_yaml_text_raises_only_compose_errors(text: str) -> None:
    _load(text)
