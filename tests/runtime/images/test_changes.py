"""--change instructions, Dockerfile-style."""

from __future__ import annotations

import pytest

from runtime.images import ImageInvalid
from runtime.images.changes import apply_changes


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
    [("RUN x", "^RUN is not a valid change command$"), ("run x", "^run is not"),
     ("EXPOSE 99999", "^invalid containerPort: 99999$"), ("EXPOSE 80/xtp", "^invalid proto: xtp$"),
     ("ENV", "^ENV requires at least one argument$"), ("ENV A", "^ENV must have two arguments$"),
     ("USER", "^USER requires exactly one argument$"), ("LABEL =x", "^LABEL names can not be blank$"),
     ("STOPSIGNAL SIGNOPE", "^Invalid signal: SIGNOPE$"), ("ENV A=${B", "missing '}'"),
     ("HEALTHCHECK --every=1s CMD true", "^unknown flag: --every$"),
     ("HEALTHCHECK --interval=10us CMD true", 'Interval "interval" cannot be less than 1ms'),
     ("SHELL [\"sh\"]", "^SHELL is not a valid change command$")],
)
def test_invalid(change: str, message: str) -> None:
    with pytest.raises(ImageInvalid, match=message):
        apply_changes([change])


def test_base_is_not_mutated() -> None:
    base = {"Env": ["A=1"]}
    assert apply_changes(["ENV B=2"], base)["Env"] == ["A=1", "B=2"] and base == {"Env": ["A=1"]}


def test_cmd_alone_and_entrypoint_table() -> None:
    assert apply_changes(["CMD"])["Cmd"] == []
    # ENTRYPOINT clears an inherited Cmd, not one set by an earlier change
    assert apply_changes(["ENTRYPOINT top"], {"Cmd": ["sh"]})["Cmd"] is None
    assert apply_changes(['CMD ["-b"]', "ENTRYPOINT top"], {"Cmd": ["sh"]})["Cmd"] == ["-b"]


def test_healthcheck_change() -> None:
    config = apply_changes(['CMD ["sh"]', "HEALTHCHECK --interval=5s --retries=2 CMD true"])
    assert config["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000, "Retries": 2}
    assert apply_changes(["HEALTHCHECK NONE"], config)["Healthcheck"] == {"Test": ["NONE"]}


def test_several_lines_in_one_change_and_continuations() -> None:
    config = apply_changes(["ENV A=1\nLABEL x=$A", "ENV B=2 \\\n  C=3"])
    assert config["Env"] == ["A=1", "B=2", "C=3"] and config["Labels"] == {"x": "1"}
