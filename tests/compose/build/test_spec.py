"""A service's build section and the command's flags as one BuildSpec, and the query it sends; pure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compose.build.remote import GitRef, is_git_url, parse_git
from compose.build.spec import BuildFlags, build_spec, proxy_args
from compose.errors import ComposeError
from tests.compose.build.helpers import project


def test_every_field_reaches_the_query(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "Dockerfile.web").write_text("FROM busybox\n")
    loaded = project(tmp_path, """
services:
  web:
    build:
      context: ./app
      dockerfile: ../Dockerfile.web
      args: {A: "1", B: "two"}
      target: t
      labels: {x: y}
      tags: ["foo:1"]
      network: host
      extra_hosts: ["h:1.2.3.4"]
      shm_size: 64m
      cache_from: [a]
      platforms: [linux/amd64]
      ulimits: {nofile: {soft: 100, hard: 200}, nproc: 50}
      isolation: default
      provenance: false
""")
    flags = BuildFlags(no_cache=True, pull=True, build_args={"B": "2", "C": None}, memory=1 << 26)
    spec = build_spec(loaded, "web", flags,
                      environ={"C": "from-env"}, proxies={"A": "proxy", "HTTP_PROXY": "http://p:3128"})
    assert spec.image == "p-web" and spec.names == ("p-web", "foo:1")
    assert spec.dockerfile == tmp_path / "app" / "../Dockerfile.web"
    query = spec.query("Dockerfile")
    assert query["t"] == ["p-web", "foo:1"] and query["dockerfile"] == "Dockerfile"
    assert json.loads(query["buildargs"]) == {"A": "1", "B": "2", "C": "from-env", "HTTP_PROXY": "http://p:3128"}
    assert json.loads(query["labels"]) == {"x": "y", "com.docker.compose.project": "p",
                                           "com.docker.compose.service": "web", "com.docker.compose.version": "2.29.0"}
    assert json.loads(query["cachefrom"]) == ["a"]
    assert query["target"] == "t" and query["networkmode"] == "host" and query["extrahosts"] == ["h:1.2.3.4"]
    assert query["shmsize"] == 64 * 1024 * 1024 and query["nocache"] and query["pull"] and query["memory"] == 1 << 26
    assert query["platform"] == "linux/amd64" and "q" not in query and query["isolation"] == "default"
    assert json.loads(query["ulimits"]) == [{"Name": "nofile", "Soft": 100, "Hard": 200},
                                            {"Name": "nproc", "Soft": 50, "Hard": 50}]


def test_image_names_the_build(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    loaded = project(tmp_path, "services:\n  web: {build: ., image: 'me/web:2'}\n")
    assert build_spec(loaded, "web").names == ("me/web:2",)


@pytest.mark.parametrize(("build", "message"), [
    ("{context: 'https://example.com/context.tar.gz'}", "only git URLs and local folders are supported"),
    ("{context: ., ssh: [default]}", "ssh: ssh forwarding needs BuildKit"),
    ("{context: ., platforms: [linux/amd64, linux/arm64]}", "one platform at a time"),
    ("{context: ., privileged: true}", "privileged: privileged builds need BuildKit"),
    ("{context: ./nowhere}", "no such file or directory"),
    ("{context: ., dockerfile: Missing}", "Dockerfile"),
])
def test_refusals_are_one_line(tmp_path: Path, build: str, message: str) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    loaded = project(tmp_path, f"services:\n  web:\n    build: {build}\nsecrets:\n  s: {{file: ./Dockerfile}}\n")
    with pytest.raises(ComposeError, match=message) as caught:
        build_spec(loaded, "web")
    assert str(caught.value).startswith('service "web": build: ') and "\n" not in str(caught.value)


def test_proxy_args_from_the_docker_cli_config() -> None:
    config = {"proxies": {"default": {"httpProxy": "http://p:3128", "noProxy": "localhost"},
                          "tcp://far:2376": {"httpsProxy": "https://q"}}}
    assert proxy_args(config) == {"HTTP_PROXY": "http://p:3128", "http_proxy": "http://p:3128",
                                  "NO_PROXY": "localhost", "no_proxy": "localhost"}
    assert proxy_args(config, "tcp://far:2376") == {"HTTPS_PROXY": "https://q", "https_proxy": "https://q"}
    assert proxy_args({}) == {}


def test_build_order_follows_depends_on_and_from(tmp_path: Path) -> None:
    from compose.build.run import build_order, in_order, specs_for

    for name, text in {"a": "FROM busybox\n", "b": "FROM p-a AS x\n", "c": "FROM --platform=linux/amd64 p-b:latest\n",
                       "d": "FROM busybox\n"}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "Dockerfile").write_text(text)
    loaded = project(tmp_path, """
services:
  a: {build: ./a}
  b: {build: ./b}
  c: {build: ./c}
  d: {build: ./d, depends_on: [c]}
  e: {build: ./a, image: p-a}
""")
    specs = specs_for(loaded, loaded.services, BuildFlags())
    assert sorted(specs) == ["a", "b", "c", "d"]  # e shares a's image: built once
    order = build_order(loaded, specs)
    assert order == {"a": set(), "b": {"a"}, "c": {"b"}, "d": {"c"}}
    assert in_order(order) == ["a", "b", "c", "d"]


def test_a_git_url_context_is_kept_for_the_build(tmp_path: Path) -> None:
    loaded = project(tmp_path, "services:\n  web:\n    build: {context: 'git@example.com:me/app.git#v1:web', "
                               "dockerfile: web.Dockerfile}\n")
    spec = build_spec(loaded, "web")
    assert spec.remote == "git@example.com:me/app.git#v1:web" and spec.dockerfile is None
    assert spec.dockerfile_name == "web.Dockerfile"


@pytest.mark.parametrize(("url", "git"), [
    ("git://host/repo", True), ("git@github.com:me/repo.git", True), ("github.com/me/repo", True),
    ("https://host/me/repo.git", True), ("https://host/me/repo.git#main:sub", True),
    ("https://host/me/context.tar.gz", False), ("http://host/Dockerfile", False),
])
def test_git_urls_as_the_docker_cli_tells_them(url: str, git: bool) -> None:
    assert is_git_url(url) is git


def test_git_fragments() -> None:
    assert parse_git("github.com/me/repo#v1.2:sub/dir") == GitRef("https://github.com/me/repo", "v1.2", "sub/dir")
    assert parse_git("git://h/r.git") == GitRef("git://h/r.git", "", "")
