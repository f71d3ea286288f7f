"""docker's units, times, tabwriter alignment and --format handling."""

from __future__ import annotations

import pytest

from compose.cli import gotemplate, tables

LISTING = tables.Listing(default="table {{.ID}}\t{{.Name}}", headers={"ID": "THE ID", "Name": "NAME"})
ROWS = [{"ID": "abc", "Name": "<none>"}, {"ID": "defghijklmnop", "Name": "x"}]


@pytest.mark.parametrize(("size", "precision", "text"), [
    (0, 3, "0B"), (999, 3, "999B"), (1000, 3, "1kB"), (1982372, 3, "1.98MB"), (1982372, 4, "1.982MB"),
    (4_261_234, 3, "4.26MB"), (5 * 10**9, 3, "5GB"), (1234, 3, "1.23kB"),
])
def test_human_size(size: int, precision: int, text: str) -> None:
    assert tables.human_size(size, precision) == text


@pytest.mark.parametrize(("seconds", "text"), [
    (0.5, "Less than a second"), (1, "1 second"), (59, "59 seconds"), (60, "About a minute"),
    (119, "About a minute"), (120, "2 minutes"), (3599, "59 minutes"), (3600, "About an hour"),
    (2 * 3600, "2 hours"), (47 * 3600, "47 hours"), (48 * 3600, "2 days"), (15 * 86400, "2 weeks"),
    (70 * 86400, "2 months"), (800 * 86400, "2 years"),
])
def test_human_duration(seconds: float, text: str) -> None:
    assert tables.human_duration(seconds) == text


def test_ago_and_ids() -> None:
    assert tables.ago(1000, now=1120) == "2 minutes ago"
    assert tables.short_id("sha256:" + "ab" * 32) == "abababababab"
    assert tables.short_id("0123456789abcdef") == "0123456789ab"


def test_ellipsis_counts_columns() -> None:
    assert tables.ellipsis("short", 20) == "short"
    assert tables.ellipsis("sh -c 'sleep 1000 && echo done'", 20) == "sh -c 'sleep 1000 &…"
    assert len(tables.ellipsis("x" * 50, 45)) == 45


def test_tabwrite_pads_like_go_tabwriter() -> None:
    text = tables.tabwrite(["A\tBB\tC", "longer-cell\tx\tlast"])
    assert text == "A             BB        C\nlonger-cell   x         last\n"


def test_render_table_json_template_quiet() -> None:
    table = tables.render(ROWS, LISTING)
    assert table.splitlines()[0] == "THE ID          NAME"
    assert table.splitlines()[2] == "defghijklmnop   x"
    assert tables.render(ROWS, LISTING, "json").splitlines()[0] == '{"ID":"abc","Name":"\\u003cnone\\u003e"}'
    assert tables.render(ROWS, LISTING, "{{.Name}}:{{.ID}}") == "<none>:abc\nx:defghijklmnop\n"
    assert tables.render(ROWS, LISTING, r"table {{.Name}}\t{{.ID}}").splitlines()[0] == "NAME      THE ID"
    assert tables.render(ROWS, LISTING, quiet=True) == "abc\ndefghijklmnop\n"


def test_render_inspect() -> None:
    items = [{"Id": "x", "Config": {"Cmd": ["sh"], "Env": None}}]
    assert tables.render_inspect(items, None) == '[\n    {\n        "Id": "x",\n        "Config": {\n' \
        '            "Cmd": [\n                "sh"\n            ],\n            "Env": null\n        }\n    }\n]\n'
    assert tables.render_inspect(items, "{{.Config.Cmd}} {{json .Config}} {{.Config.Env}}") == \
        '[sh] {"Cmd":["sh"],"Env":null} <nil>\n'
    assert tables.render_inspect([], None) == "[]\n"


@pytest.mark.parametrize(("template", "text"), [
    ("{{.A}}", "1"), ("{{.B.C}}", "[x y]"), ("{{.Missing}}", "<no value>"), ("{{json .B}}", '{"C":["x","y"]}'),
    ('{{join .B.C ","}}', "x,y"), ("{{.S | upper}}", "HELLO <B>"), ("{{lower .S}}", "hello <b>"),
    ("{{.M}}", "map[a:1 b:true]"), ('{{printf}}', None), ("{{.A", None), ("{{truncate .S 3}}", "Hel"),
    ("a {{- .A -}} b", "a1b"), ("{{.T}}", "false"), ("{{json .S}}", '"Hello <b>"'),
])
def test_gotemplate(template: str, text: str | None) -> None:
    data = {"A": 1, "B": {"C": ["x", "y"]}, "S": "Hello <b>", "M": {"b": True, "a": 1}, "T": False}
    if text is None:
        with pytest.raises(gotemplate.TemplateError):
            gotemplate.render(template, data)
    else:
        assert gotemplate.render(template, data) == text
