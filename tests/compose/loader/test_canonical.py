"""canonical(): short syntaxes to long forms, per attribute, as compose-go's transform package does."""

from __future__ import annotations

import logging
import textwrap
from typing import Any

import pytest

from compose.errors import ComposeFileError, Mark
from compose.loader.canonical import canonical
from compose.loader.marks import MDict, plain
from compose.loader.yamlfile import parse_yaml


def _doc(text: str, **kwargs: Any) -> MDict:
    doc = parse_yaml(textwrap.dedent(text), "compose.yaml")
    return canonical(doc, **kwargs)


def _svc(body: str, **kwargs: Any) -> dict[str, Any]:
    text = "services:\n  web:\n" + textwrap.indent(textwrap.dedent(body), "    ")
    return plain(_doc(text, **kwargs)["services"]["web"])


def test_ports_short_forms() -> None:
    ports = _svc('ports: ["80", 9000, "8080:80", "127.0.0.1:5000:5000/udp", "[::1]:53:53/UDP"]\n')["ports"]
    assert ports == [
        {"mode": "ingress", "target": 80, "protocol": "tcp"},
        {"mode": "ingress", "target": 9000, "protocol": "tcp"},
        {"mode": "ingress", "target": 80, "published": "8080", "protocol": "tcp"},
        {"mode": "ingress", "host_ip": "127.0.0.1", "target": 5000, "published": "5000", "protocol": "udp"},
        {"mode": "ingress", "host_ip": "::1", "target": 53, "published": "53", "protocol": "udp"},
    ]


def test_ports_ranges_expand_one_entry_per_port() -> None:
    ports = _svc('ports: ["8000-8001:80-81", "9000-9010:80", "3000-3001"]\n')["ports"]
    assert [(p["target"], p.get("published")) for p in ports] == [
        (80, "8000"), (81, "8001"), (80, "9000-9010"), (3000, None), (3001, None),
    ]


def test_ports_long_form_published_becomes_string() -> None:
    ports = _svc("ports:\n  - target: 80\n    published: 8080\n")["ports"]
    assert ports == [{"target": 80, "published": "8080"}]


@pytest.mark.parametrize("spec", ["80:abc", "70000", "81-80", "1-3:4-5", "80/icmp", "bad.ip:80:80"])
def test_ports_malformed_is_an_error_at_the_item(spec: str) -> None:
    with pytest.raises(ComposeFileError) as info:
        _svc(f'ports:\n  - "1"\n  - "{spec}"\n')
    assert info.value.mark == Mark("compose.yaml", 5, 9)
    assert info.value.path == "services.web.ports[1]"
    assert f"invalid port '{spec}'" in info.value.message


def test_ports_lenient_keeps_unparsable() -> None:
    assert _svc('ports: ["${P}:80"]\n', lenient=True)["ports"] == ["${P}:80"]


def test_ports_keep_item_marks() -> None:
    doc = _doc('services:\n  web:\n    ports:\n      - "1-2"\n      - "3"\n')
    ports = doc["services"]["web"]["ports"]
    assert [m.line for m in ports.item_marks] == [4, 4, 5]
    assert ports[2].mark == Mark("compose.yaml", 5, 9)


def test_expose_to_strings() -> None:
    assert _svc('expose: [80, "90-91"]\n')["expose"] == ["80", "90-91"]
    assert _svc("expose: 80\n")["expose"] == ["80"]


def test_volumes_short_syntax() -> None:
    volumes = _svc(
        'volumes: ["./data:/data:ro,z", "db:/var/lib/db:nocopy", "/anon", "~/x:/y/", "/abs:/c:rshared"]\n'
    )["volumes"]
    assert volumes == [
        {"type": "bind", "source": "./data", "target": "/data", "read_only": True,
         "bind": {"selinux": "z", "create_host_path": True}},
        {"type": "volume", "source": "db", "target": "/var/lib/db", "volume": {"nocopy": True}},
        {"type": "volume", "target": "/anon", "volume": {}},
        {"type": "bind", "source": "~/x", "target": "/y", "bind": {"create_host_path": True}},
        {"type": "bind", "source": "/abs", "target": "/c",
         "bind": {"propagation": "rshared", "create_host_path": True}},
    ]


def test_volumes_long_form_untouched() -> None:
    assert _svc("volumes:\n  - type: tmpfs\n    target: /t\n")["volumes"] == [{"type": "tmpfs", "target": "/t"}]


def test_volumes_malformed_is_an_error() -> None:
    with pytest.raises(ComposeFileError, match="too many colons") as info:
        _svc('volumes: ["vol:/b:ro:x"]\n')
    assert info.value.path == "services.web.volumes[0]"


def test_depends_on_list_and_map_defaults() -> None:
    assert _svc("depends_on: [db]\n")["depends_on"] == {"db": {"condition": "service_started", "required": True}}
    long = _svc("depends_on:\n  db: {condition: service_healthy}\n  q: {required: false}\n")["depends_on"]
    assert long == {"db": {"condition": "service_healthy", "required": True},
                    "q": {"condition": "service_started", "required": False}}


def test_depends_on_list_keeps_marks() -> None:
    doc = _doc("services:\n  web:\n    depends_on:\n      - db\n")
    assert doc["services"]["web"]["depends_on"].mark_of("db") == Mark("compose.yaml", 4, 9)


def test_environment_list_and_map() -> None:
    assert _svc("environment: [A=1, B, C=, D=x=y]\n")["environment"] == {"A": "1", "B": None, "C": "", "D": "x=y"}
    env = _svc("environment: {A: 1, B: null, C: true, D: 1.5}\n")["environment"]
    assert env == {"A": "1", "B": None, "C": "true", "D": "1.5"}


def test_environment_trailing_space_in_key_is_an_error() -> None:
    with pytest.raises(ComposeFileError, match="trailing space"):
        _svc('environment: ["A =1"]\n')


@pytest.mark.parametrize("key", ["labels", "annotations", "sysctls"])
def test_label_like_bare_key_is_empty_string(key: str) -> None:
    assert _svc(f"{key}: [a=1, b]\n")[key] == {"a": "1", "b": ""}
    assert _svc(f"{key}: {{a: 1, b: null}}\n")[key] == {"a": "1", "b": ""}


def test_extra_hosts_list_and_map() -> None:
    hosts = _svc('extra_hosts: ["a:1.2.3.4", "b=::1", "a=[::2]", "c=1.1.1.1,2.2.2.2"]\n')["extra_hosts"]
    assert hosts == {"a": ["1.2.3.4", "::2"], "b": ["::1"], "c": ["1.1.1.1", "2.2.2.2"]}
    assert _svc("extra_hosts: {a: 1.2.3.4, b: [x, y]}\n")["extra_hosts"] == {"a": ["1.2.3.4"], "b": ["x", "y"]}


def test_extra_hosts_missing_ip_is_an_error() -> None:
    with pytest.raises(ComposeFileError, match="missing IP: nohost"):
        _svc('extra_hosts: ["nohost"]\n')


def test_env_file_forms() -> None:
    assert _svc("env_file: .env\n")["env_file"] == [{"path": ".env", "required": True}]
    files = _svc("env_file:\n  - a.env\n  - path: b.env\n    required: false\n  - path: c.env\n")["env_file"]
    assert files == [{"path": "a.env", "required": True}, {"path": "b.env", "required": False},
                     {"path": "c.env", "required": True}]


def test_build_string_and_long() -> None:
    assert _svc("build: ./app\n")["build"] == {"context": "./app"}
    build = _svc("build:\n  context: .\n  args: [A=1, B]\n  labels: [x]\n  cache_from: img\n")["build"]
    assert build == {"context": ".", "args": {"A": "1", "B": None}, "labels": {"x": ""}, "cache_from": ["img"]}


def test_build_ssh_and_additional_contexts() -> None:
    build = _svc("build:\n  ssh: [default, key=/k]\n  additional_contexts: [a=../a]\n")["build"]
    assert build == {"ssh": {"default": None, "key": "/k"}, "additional_contexts": {"a": "../a"}}
    with pytest.raises(ComposeFileError, match="expected key=value"):
        _svc("build:\n  additional_contexts: [nothing]\n")


def test_networks_list_to_map() -> None:
    assert _svc("networks: [front, back]\n")["networks"] == {"front": None, "back": None}
    assert _svc("networks: {front: {aliases: [a]}}\n")["networks"] == {"front": {"aliases": ["a"]}}


def test_secrets_and_configs_short() -> None:
    svc = _svc("secrets: [s1, {source: s2, target: /x}]\nconfigs: [c1]\n")
    assert svc["secrets"] == [{"source": "s1"}, {"source": "s2", "target": "/x"}]
    assert svc["configs"] == [{"source": "c1"}]


def test_ulimits_single_int_stays() -> None:
    assert _svc("ulimits: {nofile: 20000, nproc: {soft: 1, hard: 2}}\n")["ulimits"] == {
        "nofile": 20000, "nproc": {"soft": 1, "hard": 2}}


@pytest.mark.parametrize("key", ["command", "entrypoint"])
def test_command_string_is_shell_split(key: str) -> None:
    assert _svc(f"{key}: sh -c 'echo \"hi there\"'\n")[key] == ["sh", "-c", 'echo "hi there"']
    assert _svc(f"{key}: [a, b c]\n")[key] == ["a", "b c"]
    assert _svc(f"{key}: ''\n")[key] == []


def test_command_unbalanced_quote_is_an_error() -> None:
    with pytest.raises(ComposeFileError, match="invalid command line string"):
        _svc("command: echo 'oops\n")


def test_healthcheck_test_string() -> None:
    assert _svc("healthcheck: {test: curl -f x}\n")["healthcheck"] == {"test": ["CMD-SHELL", "curl -f x"]}
    assert _svc("healthcheck: {test: [CMD, a]}\n")["healthcheck"] == {"test": ["CMD", "a"]}


@pytest.mark.parametrize("key", ["dns", "dns_search", "tmpfs", "label_file"])
def test_string_or_list(key: str) -> None:
    assert _svc(f"{key}: x\n")[key] == ["x"]
    assert _svc(f"{key}: [x, y]\n")[key] == ["x", "y"]


def test_devices_short() -> None:
    devices = _svc('devices: ["/dev/a", "/dev/b:/dev/c", "/dev/d:/dev/e:r"]\n')["devices"]
    assert devices == [
        {"source": "/dev/a", "target": "/dev/a", "permissions": "rwm"},
        {"source": "/dev/b", "target": "/dev/c", "permissions": "rwm"},
        {"source": "/dev/d", "target": "/dev/e", "permissions": "r"},
    ]


def test_gpus_all_and_extends_string() -> None:
    svc = _svc("gpus: all\nextends: base\n")
    assert svc["gpus"] == [{"count": "all"}]
    assert svc["extends"] == {"service": "base"}


def test_logging_options_are_strings() -> None:
    assert _svc("logging: {driver: json-file, options: {max-file: 3}}\n")["logging"] == {
        "driver": "json-file", "options": {"max-file": "3"}}


def test_hooks_command_and_environment() -> None:
    hook = _svc("post_start:\n  - command: echo hi\n    environment: [A=1]\n")["post_start"][0]
    assert hook == {"command": ["echo", "hi"], "environment": {"A": "1"}}


def test_external_name_is_adopted_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pycompose"):
        doc = _doc("volumes:\n  data:\n    external:\n      name: real\n")
    assert plain(doc["volumes"]) == {"data": {"external": True, "name": "real"}}
    assert "external.name is deprecated" in caplog.text


def test_external_name_conflict_is_an_error() -> None:
    with pytest.raises(ComposeFileError, match="conflict"):
        _doc("networks:\n  n:\n    name: a\n    external: {name: b}\n")


def test_top_level_labels_and_driver_opts() -> None:
    doc = plain(_doc("networks:\n  n:\n    labels: [a=1]\n    driver_opts: {mtu: 1500}\n"))
    assert doc["networks"]["n"] == {"labels": {"a": "1"}, "driver_opts": {"mtu": "1500"}}


def test_include_string_entry() -> None:
    assert plain(_doc("include: [other.yaml]\n")["include"]) == [{"path": "other.yaml"}]


def test_input_is_not_modified() -> None:
    doc = parse_yaml("services:\n  web:\n    ports: ['80']\n    environment: [A=1]\n", "c.yaml")
    before = plain(doc)
    canonical(doc)
    assert plain(doc) == before


def test_no_paths_resolved_and_no_project_defaults() -> None:
    doc = plain(_doc("services:\n  web:\n    image: x\n    volumes: ['./d:/d']\n"))
    assert doc == {"services": {"web": {"image": "x", "volumes": [
        {"type": "bind", "source": "./d", "target": "/d", "bind": {"create_host_path": True}}]}}}
