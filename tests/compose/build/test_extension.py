"""Our engine's extension of `POST /build` (secrets, additional contexts): what compose sends is what the
engine reads (compose/build/extension.py against runtime/build/named.py), and the context tar's layout."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from compose.build import extension
from compose.build.context import write_context
from compose.build.spec import build_spec
from compose.errors import ComposeError
from runtime.build import named
from runtime.build.options import parse
from runtime.errors import EngineError
from tests.compose.build.helpers import project

PROJECT = """
secrets:
  f: {file: ./f.txt}
  e: {environment: TOK}
services:
  base: {image: example/base:1}
  web:
    build:
      context: ./ctx
      secrets: [f, {source: e, target: other}]
      additional_contexts: {data: ./data, img: "docker-image://busybox:1", svc: "service:base"}
"""


def folder(tmp_path: Path) -> None:
    for name, text in {"ctx/Dockerfile": "FROM img\n", "data/a.txt": "a", "data/b.tmp": "b",
                       "data/.dockerignore": "*.tmp\n", "f.txt": "\x00bin\xffary"}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("latin-1"))


def test_the_engine_reads_what_compose_sends(tmp_path: Path) -> None:
    folder(tmp_path)
    spec = build_spec(project(tmp_path, PROJECT, {"TOK": "from-env"}), "web")
    assert spec.extension == "secrets, additional_contexts"
    assert "from-env" not in repr(spec)  # secrets never printed
    headers = extension.secrets_header(spec.secrets, "web")
    query = {k: [v] if isinstance(v, str) else [str(x) for x in v] if isinstance(v, list) else [str(v)]
             for k, v in spec.query("Dockerfile").items()}
    options = parse(query, {k.lower(): v for k, v in headers.items()})
    assert dict(options.secrets) == {"f": b"\x00bin\xffary", "other": b"from-env"}
    assert "from-env" not in repr(options)
    by_name = {n.name: n for n in options.named_contexts}
    assert by_name["img"].image == "busybox:1" and by_name["svc"].image == "example/base:1"
    token = by_name["data"].token
    out = io.BytesIO()
    write_context(spec, out)
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        names = {m.name.rstrip("/") for m in tar.getmembers()}
    assert {"Dockerfile", named.PREFIX, f"{named.PREFIX}/{token}", f"{named.PREFIX}/{token}/a.txt",
            f"{named.PREFIX}/{token}/.dockerignore"} <= names
    assert f"{named.PREFIX}/{token}/b.tmp" not in names  # the named context's own .dockerignore
    unpacked = tmp_path / "named"
    (unpacked / token).mkdir(parents=True)
    assert named.placed(options.named_contexts, unpacked)["data"].path == unpacked / token
    with pytest.raises(EngineError, match="its files are missing"):
        named.placed(options.named_contexts, tmp_path / "nowhere")


def test_names_and_bad_input(tmp_path: Path) -> None:
    assert extension.SECRETS_HEADER == named.SECRETS_HEADER and extension.PREFIX == named.PREFIX
    assert extension.CONTEXTS_PARAM == named.CONTEXTS_PARAM
    assert extension.is_ours({"Platform": {"Name": "pycompose engine"}})
    assert not extension.is_ours({"Platform": {"Name": "Docker Engine - Community"}}) and not extension.is_ours({})
    with pytest.raises(EngineError, match="error reading X-Pycompose-Build-Secrets"):
        named.parse_secrets("!!not base64")
    with pytest.raises(EngineError, match="invalid secret id"):
        named.parse_secrets(named.encode_secrets({"../x": b"v"}))
    with pytest.raises(EngineError, match="unsupported source"):
        named.parse_contexts('{"x": "local:../../etc"}')
    with pytest.raises(EngineError, match="unsupported source"):
        named.parse_contexts('{"x": "https://example.com/a.tar"}')
    folder(tmp_path)
    for bad, message in (("additional_contexts: {x: 'https://h/x.git'}", "only folders, docker-image:// and service:"),
                         ("additional_contexts: {x: 'service:nope'}", "no service 'nope'"),
                         ("additional_contexts: {x: ./missing}", "no such file or directory"),
                         ("secrets: [nope]", "undefined build secret nope")):
        text = PROJECT.replace("secrets: [f, {source: e, target: other}]", "").replace(
            "additional_contexts: {data: ./data, img: \"docker-image://busybox:1\", svc: \"service:base\"}", bad)
        with pytest.raises(ComposeError, match=message):
            build_spec(project(tmp_path, text), "web")
    (tmp_path / "ctx" / named.PREFIX).mkdir()
    with pytest.raises(ComposeError, match="reserved for additional contexts"):
        write_context(build_spec(project(tmp_path, PROJECT), "web"), io.BytesIO())
