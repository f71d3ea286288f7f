"""canonical_order(): key order, omitted zero values and printed forms of `docker compose config`."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import yaml

from compose.loader.canonical import canonical
from compose.loader.config_order import go_sorted
from compose.loader.normalize import NormalizeContext, canonical_order, normalize
from compose.loader.yamlfile import parse_yaml


def _config(text: str) -> dict[str, Any]:
    doc = canonical(parse_yaml(textwrap.dedent(text), "compose.yaml"))
    return canonical_order(normalize(doc, NormalizeContext("proj", Path("/srv/app"), {})))


def _yaml(data: object) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def test_go_map_key_order() -> None:
    assert go_sorted(["b", "a10", "a2", "A", "_x", "a"]) == ["_x", "A", "a", "a2", "a10", "b"]
    assert go_sorted(["ENV_WITH_UNDERSCORE", "ENV.WITH.DOT", "BAZ", "com.example", "QUX"]) == [
        "BAZ", "ENV.WITH.DOT", "ENV_WITH_UNDERSCORE", "QUX", "com.example"]


def test_top_level_order_and_extensions_last() -> None:
    out = _config("""\
        x-extra: 1
        volumes: {data: {}}
        services:
          web: {image: nginx, volumes: ['data:/d']}
        """)
    assert list(out) == ["name", "services", "networks", "volumes", "x-extra"]


def test_full_service_rendering() -> None:
    out = _config("""\
        services:
          web:
            x-custom: yes
            tty: false
            privileged: true
            image: nginx
            labels: [b=2, a=1]
            environment: {Z: z, A: null}
            ports: ["127.0.0.1:8080:80"]
            volumes: ["./html:/usr/share/nginx/html:ro", "data:/data"]
            depends_on: [db]
            mem_limit: 1g
            healthcheck: {test: curl x, interval: 30s, retries: 0}
            extra_hosts: ["z:1.1.1.1", "a=::1"]
            ulimits: {nproc: 5, nofile: {soft: 1}}
            secrets: [{source: s, mode: 0o440}]
            command: ""
            init: false
          db:
            image: postgres
        volumes:
          data: {}
        secrets:
          s: {file: ./s}
        """)
    assert _yaml(out["services"]["web"]) == textwrap.dedent("""\
        command: []
        depends_on:
          db:
            condition: service_started
            required: true
        environment:
          A: null
          Z: z
        extra_hosts:
        - a=::1
        - z=1.1.1.1
        healthcheck:
          test:
          - CMD-SHELL
          - curl x
          interval: 30s
          retries: 0
        image: nginx
        init: false
        labels:
          a: '1'
          b: '2'
        mem_limit: '1073741824'
        networks:
          default: null
        ports:
        - mode: ingress
          host_ip: 127.0.0.1
          target: 80
          published: '8080'
          protocol: tcp
        privileged: true
        secrets:
        - source: s
          target: /run/secrets/s
          mode: '0440'
        ulimits:
          nofile:
            soft: 1
            hard: 0
          nproc: 5
        volumes:
        - type: bind
          source: /srv/app/html
          target: /usr/share/nginx/html
          read_only: true
          bind: {}
        - type: volume
          source: data
          target: /data
          volume: {}
        x-custom: 'yes'
        """)


def test_struct_order_is_not_alphabetical() -> None:
    out = _config("""\
        services:
          web:
            image: x
            hostname: h
            healthcheck: {test: [NONE]}
            profiles: [p]
            annotations: {a: b}
        """)
    assert list(out["services"]["web"]) == ["profiles", "annotations", "hostname", "healthcheck", "image",
                                           "networks"]


def test_resources_rendering() -> None:
    out = _config("""\
        services:
          web: {image: x, networks: [front]}
        networks:
          front:
            labels: [a=1]
            driver: bridge
            external: false
            ipam: {config: [{subnet: 10.0.0.0/24}]}
        secrets:
          s: {environment: TOKEN}
        configs:
          c: {content: hello}
        """)
    assert out["networks"] == {"front": {"name": "proj_front", "driver": "bridge",
                                         "ipam": {"config": [{"subnet": "10.0.0.0/24"}]}, "labels": {"a": "1"}}}
    assert out["secrets"] == {"s": {"name": "proj_s", "environment": "TOKEN"}}
    assert out["configs"] == {"c": {"name": "proj_c", "content": "hello"}}


def test_bind_create_host_path_false_is_printed() -> None:
    out = _config("""\
        services:
          web:
            image: x
            volumes: [{type: bind, source: ., target: /x, bind: {create_host_path: false}}]
        """)
    volumes = out["services"]["web"]["volumes"]
    assert volumes[0]["bind"] == {"create_host_path": False}


def test_plain_output_has_no_marks() -> None:
    out = _config("services:\n  web: {image: x}\n")
    assert type(out["services"]) is dict
    assert type(out["services"]["web"]["networks"]) is dict
