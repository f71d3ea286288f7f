"""apply_instruction: metadata instructions on a container config, as dockerd's builder applies them."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import pytest

from runtime.dockerfile import instructions as ins
from runtime.dockerfile.config import AUTHOR, apply_instruction, clean_path, command_line
from runtime.dockerfile.errors import DockerfileError
from runtime.dockerfile.parser import parse
from runtime.dockerfile.words import expand


def run(lines: str, config: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
        **kwargs: Any) -> dict[str, Any]:
    (stage,) = parse("FROM scratch\n" + lines).stages
    out = dict(config or {})
    for instruction in stage.instructions:
        out = apply_instruction(out, instruction, functools.partial(expand, env=env or {}), **kwargs)
    return out


def test_env_is_expanded_with_the_scope_before_the_instruction() -> None:
    config = run('ENV A=1 B="two words"\nENV A=2 C=$A D=${B:+set}\nENV E the  rest $A', {"Env": ["PATH=/bin"]},
                 env={"A": "old"})
    assert config["Env"] == ["PATH=/bin", "A=2", "B=two words", "C=old", "D=", "E=the  rest old"]


def test_labels_workdir_user_stopsignal() -> None:
    config = run('LABEL "a b"=c d=$V\nWORKDIR /srv\nWORKDIR app/../x/./y\nWORKDIR $V\nUSER $V:1\nSTOPSIGNAL SIGINT',
                 {"Labels": {"old": "1"}}, env={"V": "v"})
    assert config["Labels"] == {"old": "1", "a b": "c", "d": "v"}
    assert config["WorkingDir"] == "/srv/x/y/v" and config["User"] == "v:1" and config["StopSignal"] == "SIGINT"
    assert run("WORKDIR rel")["WorkingDir"] == "/rel" and clean_path("//a//b/..") == "/a"


def test_cmd_entrypoint_table() -> None:
    assert run("CMD echo $HOME")["Cmd"] == ["/bin/sh", "-c", "echo $HOME"]
    assert run('CMD ["a", "$B"]')["Cmd"] == ["a", "$B"]
    shell = run('SHELL ["/bin/bash", "-o", "pipefail", "-c"]\nCMD ls | wc')
    assert shell["Shell"] == ["/bin/bash", "-o", "pipefail", "-c"]
    assert shell["Cmd"] == ["/bin/bash", "-o", "pipefail", "-c", "ls | wc"]
    # ENTRYPOINT resets an inherited CMD ...
    assert run('ENTRYPOINT ["top"]', {"Cmd": ["sh"]}) == {"Entrypoint": ["top"], "Cmd": None}
    # ... but not one this build set
    assert run('ENTRYPOINT ["top"]', {"Cmd": ["-b"]}, cmd_set=True)["Cmd"] == ["-b"]
    assert run("ENTRYPOINT []", {"Entrypoint": ["x"]})["Entrypoint"] == []
    assert command_line(ins.Command(exec_form=False, args=()), None) == []


def test_expose_volume_healthcheck_onbuild_maintainer() -> None:
    config = run("EXPOSE 80 $PORTS 53/UDP 7000-7001/sctp\nVOLUME /data $V\nVOLUME [\"/x\"]\n"
                 "HEALTHCHECK --interval=5s --retries=3 CMD [\"true\"]\nONBUILD RUN make\nONBUILD COPY . /\n"
                 "MAINTAINER Jo", env={"PORTS": "443 8080/udp", "V": "/v"})
    assert config["ExposedPorts"] == {p: {} for p in ("80/tcp", "443/tcp", "8080/udp", "53/udp", "7000/sctp",
                                                      "7001/sctp")}
    assert config["Volumes"] == {"/data": {}, "/v": {}, "/x": {}}
    assert config["Healthcheck"] == {"Test": ["CMD", "true"], "Interval": 5_000_000_000, "Retries": 3}
    assert config["OnBuild"] == ["RUN make", "COPY . /"] and config[AUTHOR] == "Jo"
    assert run("HEALTHCHECK CMD curl -f x || exit 1")["Healthcheck"] == {"Test": ["CMD-SHELL", "curl -f x || exit 1"]}
    assert run("HEALTHCHECK NONE", {"Healthcheck": {"Test": ["CMD", "x"]}})["Healthcheck"] == {"Test": ["NONE"]}


def test_the_input_is_not_mutated() -> None:
    base = {"Env": ["A=1"], "Labels": {"a": "1"}}
    run("ENV B=2\nLABEL b=2", base)
    assert base == {"Env": ["A=1"], "Labels": {"a": "1"}}


@pytest.mark.parametrize(("text", "message"), [
    ("EXPOSE 70000", "invalid containerPort: 70000"), ("EXPOSE 80/icmp", "invalid proto: icmp"),
    ("EXPOSE abc", "invalid containerPort: abc"), ("STOPSIGNAL SIGNOPE", "Invalid signal: SIGNOPE"),
    ("STOPSIGNAL 0", "Invalid signal: 0"), ("VOLUME $EMPTY", "VOLUME specified can not be an empty string"),
    ("WORKDIR $EMPTY", "cannot normalize nothing"), ("ENV A=${B", "syntax error: missing '}'"),
    ("RUN x", "RUN is not a metadata instruction"),
])  # fmt: skip
def test_refusals_carry_the_line(text: str, message: str) -> None:
    with pytest.raises(DockerfileError) as caught:
        run(text)
    assert caught.value.line == 2 and message in str(caught.value) and caught.value.kind == "plain"


def test_signals() -> None:
    for value in ("SIGKILL", "kill", "9", "SIGRTMIN+3", "RTMAX"):
        assert run(f"STOPSIGNAL {value}")["StopSignal"] == value
