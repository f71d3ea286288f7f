"""parse_volume(): the short volume syntax, as compose-go's format.ParseVolume reads it."""

from __future__ import annotations

import pytest

from compose.loader.volumes_syntax import go_clean, is_file_path, parse_volume


def test_named_bind_anonymous() -> None:
    assert parse_volume("data:/data") == {"type": "volume", "source": "data", "target": "/data", "volume": {}}
    assert parse_volume("./d:/d") == {"type": "bind", "source": "./d", "target": "/d",
                                      "bind": {"create_host_path": True}}
    assert parse_volume("/anon") == {"type": "volume", "target": "/anon", "volume": {}}
    assert parse_volume("/a") == {"type": "volume", "target": "/a"}


def test_options() -> None:
    assert parse_volume("/h:/c:ro,Z,rslave") == {
        "type": "bind", "source": "/h", "target": "/c", "read_only": True,
        "bind": {"selinux": "Z", "propagation": "rslave", "create_host_path": True}}
    assert parse_volume("vol:/c:nocopy,rw,unknown") == {"type": "volume", "source": "vol", "target": "/c",
                                                      "volume": {"nocopy": True}}


def test_interpolation_and_windows_drive_colons_do_not_split() -> None:
    assert parse_volume("${A:-x}:/c")["source"] == "${A:-x}"
    assert parse_volume("c:\\data:/data")["source"] == "c:\\data"


def test_target_cleaned() -> None:
    assert parse_volume("vol:/a/b/../c/")["target"] == "/a/c"


@pytest.mark.parametrize(("spec", "message"), [
    ("", "invalid empty volume spec"), ("ab::c", "empty section"), ("vol:/a:ro:x", "too many colons"),
    ("vol:/a:", "empty section"),
])
def test_errors(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_volume(spec)


def test_helpers() -> None:
    assert is_file_path("~/x") and is_file_path("\\\\pipe") and is_file_path("C:\\x")
    assert not is_file_path("named") and not is_file_path("")
    assert go_clean("//a//b/") == "/a/b" and go_clean("") == "."


def test_single_letter_source_reads_as_a_windows_drive_as_in_compose() -> None:
    assert parse_volume("v:/data") == {"type": "volume", "target": "v:/data", "volume": {}}
