"""Merge rules, one test (or a few) per rule of compose-go's override/merge.go and uncity.go."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from compose.errors import ComposeFileError, Mark
from compose.loader.marks import MDict, plain
from compose.loader.merge import merge
from compose.loader.yamlfile import parse_yaml


def load(text: str, file: str = "f.yml") -> MDict:
    doc = parse_yaml(textwrap.dedent(text), file)
    assert isinstance(doc, MDict)
    return doc


def merged(*texts: str) -> Any:
    doc = MDict()
    for i, text in enumerate(texts):
        doc = merge(doc, load(text, f"{i}.yml"))
    return doc


def web(*texts: str) -> Any:
    return plain(merged(*texts))["services"]["web"]


# --- default rules -----------------------------------------------------------

def test_scalars_later_wins_and_mappings_merge_recursively() -> None:
    got = web(
        """
        services:
          web:
            image: a
            deploy: {resources: {limits: {cpus: "1", memory: 1g}}}
        """,
        """
        services:
          web:
            image: b
            deploy: {resources: {limits: {memory: 2g}}}
        """,
    )
    assert got == {"image": "b", "deploy": {"resources": {"limits": {"cpus": "1", "memory": "2g"}}}}


def test_new_keys_and_services_are_added_in_order() -> None:
    got = plain(merged(
        "services: {web: {image: a}}\nx-one: 1\n",
        "services: {db: {image: b}, web: {user: me}}\nx-two: 2\n",
    ))
    assert list(got) == ["services", "x-one", "x-two"]
    assert list(got["services"]) == ["web", "db"]
    assert got["services"]["web"] == {"image": "a", "user": "me"}


def test_sequences_append_by_default() -> None:
    got = web(
        "services: {web: {security_opt: [a], volumes_from: [x]}}",
        "services: {web: {security_opt: [b, a], volumes_from: [x]}}",
    )
    assert got == {"security_opt": ["a", "b", "a"], "volumes_from": ["x", "x"]}


def test_null_override_keeps_base_value() -> None:
    got = web(
        "services: {web: {image: a, networks: {front: {aliases: [x]}}}}",
        "services: {web: {image: null, networks: {front: null}}}",
    )
    assert got == {"image": "a", "networks": {"front": {"aliases": ["x"]}}}


@pytest.mark.parametrize("key", ["command", "entrypoint"])
def test_command_and_entrypoint_replace(key: str) -> None:
    got = web(f"services: {{web: {{{key}: [a, b]}}}}", f"services: {{web: {{{key}: [c]}}}}")
    assert got == {key: ["c"]}


def test_healthcheck_test_replaces_but_healthcheck_merges() -> None:
    got = web(
        "services: {web: {healthcheck: {test: [CMD, a], interval: 5s}}}",
        "services: {web: {healthcheck: {test: [CMD-SHELL, b], retries: 3}}}",
    )
    assert got == {"healthcheck": {"test": ["CMD-SHELL", "b"], "interval": "5s", "retries": 3}}


def test_ulimit_entry_replaces() -> None:
    got = web(
        "services: {web: {ulimits: {nofile: {soft: 1, hard: 2}, nproc: 10}}}",
        "services: {web: {ulimits: {nofile: {soft: 5}}}}",
    )
    assert got == {"ulimits": {"nofile": {"soft": 5}, "nproc": 10}}


# --- by key ------------------------------------------------------------------

@pytest.mark.parametrize("key", ["environment", "labels", "sysctls", "annotations"])
def test_key_value_mappings_merge_by_key(key: str) -> None:
    got = web(
        f"services: {{web: {{{key}: {{A: '1', B: '2'}}}}}}",
        f"services: {{web: {{{key}: {{B: '3', C: '4'}}}}}}",
    )
    assert got == {key: {"A": "1", "B": "3", "C": "4"}}


def test_environment_empty_override_value_wins() -> None:
    got = web("services: {web: {environment: {A: '1'}}}", "services: {web: {environment: {A: null}}}")
    assert got == {"environment": {"A": None}}


def test_key_value_list_and_mapping_mix_into_mapping() -> None:
    got = web("services: {web: {build: {args: [A=1, B]}}}", "services: {web: {build: {args: {A: '2'}}}}")
    assert got == {"build": {"args": {"A": "2", "B": None}}}


def test_key_value_lists_dedupe_by_name() -> None:
    got = web("services: {web: {labels: [a=1, b=2]}}", "services: {web: {labels: [a=3, c]}}")
    assert got == {"labels": ["a=3", "b=2", "c"]}


def test_top_level_network_labels_merge_by_key() -> None:
    got = plain(merged("networks: {n: {labels: {a: '1'}}}", "networks: {n: {labels: [a=2, b=3]}}"))
    assert got == {"networks": {"n": {"labels": {"a": "2", "b": "3"}}}}


def test_ports_merge_by_host_ip_published_target_protocol() -> None:
    got = web(
        """
        services:
          web:
            ports:
              - {target: 80, published: "8080", protocol: tcp}
              - {target: 81, published: "8081", protocol: tcp}
              - {target: 53, published: "53", protocol: udp}
        """,
        """
        services:
          web:
            ports:
              - {target: 80, published: "8080", host_ip: 0.0.0.0, protocol: tcp, mode: host}
              - {target: 53, published: "53", protocol: tcp}
              - {target: 81, published: "8081", host_ip: 127.0.0.1}
        """,
    )
    assert got["ports"] == [
        {"target": 80, "published": "8080", "host_ip": "0.0.0.0", "protocol": "tcp", "mode": "host"},
        {"target": 81, "published": "8081", "protocol": "tcp"},
        {"target": 53, "published": "53", "protocol": "udp"},
        {"target": 53, "published": "53", "protocol": "tcp"},
        {"target": 81, "published": "8081", "host_ip": "127.0.0.1"},
    ]


def test_ports_without_published_dedupe_by_target() -> None:
    got = web("services: {web: {ports: [{target: 80}]}}", "services: {web: {ports: [{target: 80}, {target: 81}]}}")
    assert got["ports"] == [{"target": 80}, {"target": 81}]


def test_volumes_merge_by_target_in_place() -> None:
    got = web(
        """
        services:
          web:
            volumes:
              - {type: volume, source: a, target: /a}
              - {type: bind, source: ./b, target: /b}
        """,
        """
        services:
          web:
            volumes:
              - {type: bind, source: ./other, target: /a, read_only: true}
              - {type: volume, source: c, target: /c}
        """,
    )
    assert got["volumes"] == [
        {"type": "bind", "source": "./other", "target": "/a", "read_only": True},
        {"type": "bind", "source": "./b", "target": "/b"},
        {"type": "volume", "source": "c", "target": "/c"},
    ]


def test_secrets_by_target_defaulting_to_run_secrets_source() -> None:
    got = web(
        "services: {web: {secrets: [{source: a}, {source: b, target: /x}]}}",
        "services: {web: {secrets: [{source: a, mode: 256}, {source: c, target: /x}, {source: b}]}}",
    )
    assert got["secrets"] == [{"source": "a", "mode": 256}, {"source": "c", "target": "/x"}, {"source": "b"}]


def test_configs_by_target_defaulting_to_root_source() -> None:
    got = web(
        "services: {web: {configs: [{source: a}, {source: b, target: /a}]}}",
        "services: {web: {configs: [{source: c, target: /b}]}}",
    )
    # `{source: a}` mounts at /a, so the later `target: /a` replaces it
    assert got["configs"] == [{"source": "b", "target": "/a"}, {"source": "c", "target": "/b"}]


def test_devices_by_target() -> None:
    got = web(
        "services: {web: {devices: [{source: /dev/sda, target: /dev/sda}, '/dev/sdb:/dev/sdb']}}",
        "services: {web: {devices: [{source: /dev/nvme0, target: /dev/sda}, '/dev/x:/dev/sdb:r']}}",
    )
    assert got["devices"] == [{"source": "/dev/nvme0", "target": "/dev/sda"}, "/dev/x:/dev/sdb:r"]


def test_env_file_by_path_string_or_mapping() -> None:
    got = web(
        "services: {web: {env_file: [{path: a.env, required: true}, b.env]}}",
        "services: {web: {env_file: [a.env, {path: c.env, required: false}]}}",
    )
    assert got["env_file"] == ["a.env", "b.env", {"path": "c.env", "required": False}]


def test_env_file_strings_become_a_list() -> None:
    assert web("services: {web: {env_file: a.env}}", "services: {web: {env_file: b.env}}") == {
        "env_file": ["a.env", "b.env"]
    }


def test_label_file_appends() -> None:
    got = web("services: {web: {label_file: [a]}}", "services: {web: {label_file: [a, b]}}")
    assert got == {"label_file": ["a", "a", "b"]}


@pytest.mark.parametrize("key", ["dns", "dns_search", "dns_opt", "cap_add", "cap_drop", "profiles", "links"])
def test_set_like_lists_are_unique(key: str) -> None:
    got = web(f"services: {{web: {{{key}: [a, b]}}}}", f"services: {{web: {{{key}: [b, c]}}}}")
    assert got == {key: ["a", "b", "c"]}


def test_dns_string_joins_list() -> None:
    assert web("services: {web: {dns: 1.1.1.1}}", "services: {web: {dns: [8.8.8.8, 1.1.1.1]}}") == {
        "dns": ["1.1.1.1", "8.8.8.8"]
    }


def test_expose_unique_across_int_and_string() -> None:
    assert web("services: {web: {expose: [80, '81']}}", "services: {web: {expose: ['80', 82]}}") == {
        "expose": ["80", "81", 82]
    }


def test_network_aliases_unique() -> None:
    got = web("services: {web: {networks: {n: {aliases: [a]}}}}", "services: {web: {networks: {n: {aliases: [a, b]}}}}")
    assert got == {"networks": {"n": {"aliases": ["a", "b"]}}}


def test_extra_hosts_lists_add_missing_entries() -> None:
    got = web(
        "services: {web: {extra_hosts: [example.com=1.2.3.4]}}",
        "services: {web: {extra_hosts: [localhost=127.0.0.1, example.com=1.2.3.4, example.com=4.3.2.1]}}",
    )
    assert got == {"extra_hosts": ["example.com=1.2.3.4", "localhost=127.0.0.1", "example.com=4.3.2.1"]}


def test_extra_hosts_mappings_add_addresses() -> None:
    got = web(
        "services: {web: {extra_hosts: {example.com: 1.2.3.4, a: 1.1.1.1}}}",
        "services: {web: {extra_hosts: {localhost: 127.0.0.1, example.com: [1.2.3.4, 4.3.2.1], a: 1.1.1.1}}}",
    )
    assert got == {"extra_hosts": {
        "example.com": ["1.2.3.4", "4.3.2.1"], "a": "1.1.1.1", "localhost": "127.0.0.1"}}


def test_extra_hosts_mapping_and_list_mix_as_compose_go() -> None:
    got = web(
        "services: {web: {extra_hosts: {example.com: 1.2.3.4}}}",
        "services: {web: {extra_hosts: [localhost=127.0.0.1, example.com=1.2.3.4]}}",
    )
    assert got == {"extra_hosts": ["example.com=1.2.3.4", "localhost=127.0.0.1"]}


# --- attribute-specific rules -------------------------------------------------

def test_logging_same_driver_merges_options() -> None:
    got = web(
        "services: {web: {logging: {driver: syslog, options: {a: '1', b: '2'}}}}",
        "services: {web: {logging: {driver: syslog, options: {a: '3'}}}}",
    )
    assert got == {"logging": {"driver": "syslog", "options": {"a": "3", "b": "2"}}}


def test_logging_other_driver_replaces() -> None:
    got = web(
        "services: {web: {logging: {driver: local, options: {max-size: 10m}}}}",
        "services: {web: {logging: {driver: syslog, options: {a: b}}}}",
    )
    assert got == {"logging": {"driver": "syslog", "options": {"a": "b"}}}


def test_logging_without_driver_merges() -> None:
    got = web(
        "services: {web: {logging: {driver: local, options: {max-size: 10m}}}}",
        "services: {web: {logging: {options: {max-file: 3}}}}",
    )
    assert got == {"logging": {"driver": "local", "options": {"max-size": "10m", "max-file": 3}}}


def test_build_string_and_mapping_merge() -> None:
    got = web("services: {web: {build: ./a}}", "services: {web: {build: {dockerfile: X, args: {A: '1'}}}}")
    assert got == {"build": {"context": "./a", "dockerfile": "X", "args": {"A": "1"}}}
    got = web("services: {web: {build: {context: ., dockerfile: X}}}", "services: {web: {build: ./b}}")
    assert got == {"build": {"context": "./b", "dockerfile": "X"}}


def test_depends_on_mappings_merge_and_lists_get_defaults() -> None:
    got = web(
        "services: {web: {depends_on: {db: {condition: service_healthy, restart: true}}}}",
        "services: {web: {depends_on: {db: {condition: service_started}, cache: {condition: service_started}}}}",
    )
    assert got == {"depends_on": {
        "db": {"condition": "service_started", "restart": True},
        "cache": {"condition": "service_started"}}}
    got = web("services: {web: {depends_on: [db]}}", "services: {web: {depends_on: {db: {required: false}}}}")
    assert got == {"depends_on": {"db": {"condition": "service_started", "required": False}}}


def test_service_networks_list_becomes_mapping() -> None:
    got = web("services: {web: {networks: [a, b]}}", "services: {web: {networks: {b: {priority: 1}, c: null}}}")
    assert got == {"networks": {"a": None, "b": {"priority": 1}, "c": None}}


def test_ipam_config_merges_pools_by_subnet() -> None:
    got = plain(merged(
        "networks: {n: {ipam: {config: [{subnet: 10.0.0.0/8, gateway: 10.0.0.1}, {subnet: 11.0.0.0/8}]}}}",
        "networks: {n: {ipam: {config: [{subnet: 10.0.0.0/8, ip_range: 10.1.0.0/16}, {subnet: 12.0.0.0/8}]}}}",
    ))
    assert got["networks"]["n"]["ipam"]["config"] == [
        {"subnet": "10.0.0.0/8", "gateway": "10.0.0.1", "ip_range": "10.1.0.0/16"},
        {"subnet": "11.0.0.0/8"},
        {"subnet": "12.0.0.0/8"},
    ]


def test_mapping_over_list_is_an_error_with_position() -> None:
    with pytest.raises(ComposeFileError) as info:
        merged("services: {web: {security_opt: [a]}}", "services:\n  web:\n    security_opt: {a: b}\n")
    assert info.value.path == "services.web.security_opt"
    assert info.value.mark == Mark("1.yml", 3, 19)
