"""cache_from.match and restored_config (pure): dockerd's history fallback for `--cache-from`."""

from __future__ import annotations

import json

from runtime.build.cache_from import Match, match, restored_config

BASE = {"history": [{"created": "t0", "created_by": "base"}], "rootfs": {"type": "layers", "diff_ids": ["sha256:b"]}}
SOURCE = {"architecture": "amd64", "os": "linux",
          "history": [*BASE["history"], {"created": "t1", "created_by": "/bin/sh -c #(nop)  ENV A=1",
                                         "empty_layer": True},
                      {"created": "t2", "created_by": "/bin/sh -c echo hi"}],
          "rootfs": {"type": "layers", "diff_ids": ["sha256:b", "sha256:r"]}}


def test_a_step_matches_the_next_entry_of_a_source_the_parent_is_a_prefix_of() -> None:
    sources = [("sha256:src", SOURCE)]
    assert match(BASE, sources, "/bin/sh -c #(nop)  ENV A=1") == Match("sha256:src", 1, False, None)
    assert match(BASE, sources, "/bin/sh -c echo hi") is None  # not the next entry
    step1 = json.loads(restored_config(BASE, SOURCE, Match("sha256:src", 1, False, None), {"Env": ["A=1"]}))
    assert step1["history"] == SOURCE["history"][:2] and step1["rootfs"]["diff_ids"] == ["sha256:b"]
    assert match(step1, sources, "/bin/sh -c echo hi") == Match("sha256:src", 2, True, 1)
    other = {**BASE, "history": [{"created": "t9", "created_by": "base"}]}
    assert match(other, sources, "/bin/sh -c #(nop)  ENV A=1") is None  # a different parent
    assert match(None, sources, "base") == Match("sha256:src", 0, False, 0)  # from scratch
