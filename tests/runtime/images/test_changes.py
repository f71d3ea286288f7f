"""--change instructions, Dockerfile-style."""

from __future__ import annotations

import pytest

from runtime.images import ImageInvalid
from runtime.images.changes import apply_changes, words


def test_words_quotes_escapes_and_expansion() -> None:
    env = {"A": "1", "EMPTY": ""}
    assert words("""a 'b c' "d $A" e\\ f $A ${A} ${EMPTY:-dflt} ${A:+alt} '$A' "\\$A" """, env) == [
        "a", "b c", "d 1", "e f", "1", "1", "dflt", "alt", "$A", "$A"]
    with pytest.raises(ImageInvalid, match="unterminated"):
        words('"open', {})


def test_cmd_entrypoint_forms() -> None:
    cfg = apply_changes(['CMD ["echo", "hi"]', "ENTRYPOINT top -b", "cmd not-json [x"])
    assert cfg["Entrypoint"] == ["/bin/sh", "-c", "top -b"]
    assert cfg["Cmd"] == ["/bin/sh", "-c", "not-json [x"]


def test_env_label_forms_and_order() -> None:
    cfg = apply_changes(["ENV A=1 B=\"two words\"", "ENV C ${A}-legacy value", "ENV A=3 D=$A",
                         "LABEL x=1 \"y z\"=2", "LABEL legacy value here"])
    assert cfg["Env"] == ["A=3", "B=two words", "C=1-legacy value", "D=1"]
    assert cfg["Labels"] == {"x": "1", "y z": "2", "legacy": "value here"}


def test_expose_volume_workdir_user_stopsignal_onbuild() -> None:
    cfg = apply_changes(["EXPOSE 80 8000-8001/udp", 'VOLUME ["/a", "/b"]', "VOLUME /c", "WORKDIR /srv",
                         "WORKDIR app", "USER 1000:1000", "STOPSIGNAL SIGTERM", "ONBUILD RUN make"])
    assert cfg["ExposedPorts"] == {"80/tcp": {}, "8000/udp": {}, "8001/udp": {}}
    assert cfg["Volumes"] == {"/a": {}, "/b": {}, "/c": {}}
    assert cfg["WorkingDir"] == "/srv/app" and cfg["User"] == "1000:1000" and cfg["StopSignal"] == "SIGTERM"
    assert cfg["OnBuild"] == ["RUN make"]


@pytest.mark.parametrize(
    ("change", "message"),
    [("RUN x", "not a valid change command"), ("EXPOSE 99999", "invalid port"), ("ENV", "at least one"),
     ("ENV A", "need a value"), ("CMD", "at least one"), ("USER", "requires"), ("LABEL =x", "key=value")],
)
def test_invalid(change: str, message: str) -> None:
    with pytest.raises(ImageInvalid, match=message):
        apply_changes([change])


def test_base_is_not_mutated() -> None:
    base = {"Env": ["A=1"]}
    assert apply_changes(["ENV B=2"], base)["Env"] == ["A=1", "B=2"] and base == {"Env": ["A=1"]}
