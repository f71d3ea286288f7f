"""parse(): directives, continuations, comments, forms, flags, stages and every instruction."""

from __future__ import annotations

import pytest

from runtime.dockerfile import instructions as ins
from runtime.dockerfile.errors import DockerfileError
from runtime.dockerfile.parser import parse
from tests.runtime.dockerfile.helpers import only


def test_directives_at_the_top_only() -> None:
    df = parse("# syntax=docker/dockerfile:1.7\n#ESCAPE = `\n# check=skip=all;error=true\nFROM a\n")
    assert (df.syntax, df.escape, df.check) == ("docker/dockerfile:1.7", "`", "skip=all;error=true")
    # an ordinary comment (or a blank line) ends them: the later one is a comment
    df = parse("# hello\n# escape=`\nFROM a\n")
    assert df.escape == "\\"
    df = parse("\n# syntax=x\nFROM a\n")
    assert df.syntax == ""
    # an unknown key ends them too
    assert parse("# foo=bar\n# syntax=x\nFROM a").syntax == ""


@pytest.mark.parametrize(("text", "line", "message"), [
    ("# escape=\\\n# escape=`\nFROM a", 2, "only one escape parser directive can be used"),
    ("# escape=x\nFROM a", 1, "invalid escape token 'x' does not match ` or \\"),
    ("# syntax=a\n# SYNTAX=b\nFROM a", 2, "only one syntax parser directive can be used"),
    ("# check=skip\nFROM a", 1, 'invalid check option "skip"'),
    ("# check=error=maybe\nFROM a", 1,
     'failed to parse check option "error=maybe": strconv.ParseBool: parsing "maybe": invalid syntax'),
    ("# check=colour=red\nFROM a", 1, 'invalid check option "colour"'),
])  # fmt: skip
def test_directive_errors(text: str, line: int, message: str) -> None:
    with pytest.raises(DockerfileError) as caught:
        parse(text)
    assert (caught.value.line, caught.value.message) == (line, message)
    assert str(caught.value) == f"failed to parse Dockerfile: {message}"


def test_escape_backtick_continues_lines_and_keeps_backslashes() -> None:
    df = parse("# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo hi\nCOPY a\\b c:\\dst\\\n")
    run, copy = df.stages[0].instructions
    assert isinstance(run, ins.Run) and run.command.args == ("dir c:\\   && echo hi",)
    assert isinstance(copy, ins.Copy) and copy.sources == ("a\\b",) and copy.dest == "c:\\dst\\"


def test_continuations_skip_comments_and_blank_lines() -> None:
    df = parse("FROM a\nRUN echo a \\\n  # a comment\n\n   \\\n  b\t\\  \n c\nRUN x\n")
    first, second = df.stages[0].instructions
    assert isinstance(first, ins.Run) and first.command.args == ("echo a      b\t c",)
    assert first.line == 2 and second.line == 8
    assert df.warnings == ("[WARNING]: Empty continuation line found in: RUN echo a      b\t c",
                           "[WARNING]: Empty continuation lines will become errors in a future release.")
    assert parse("FROM a\nRUN a \\\n  # only a comment\n  b").warnings == ()


def test_comments_blank_lines_bom_crlf() -> None:
    df = parse("\ufeff# c\r\n\r\n  # indented comment\r\nFROM a\r\n  RUN  echo hi  \r\n")
    (run,) = df.stages[0].instructions
    assert isinstance(run, ins.Run) and run.command.args == ("echo hi",) and run.line == 5


def test_exec_and_shell_forms() -> None:
    cmd = only('CMD ["echo", "a b"]')
    assert isinstance(cmd, ins.Cmd) and cmd.command == ins.Command(exec_form=True, args=("echo", "a b"))
    # invalid JSON is shell form, as written
    for text in ("CMD [echo, hi]", "CMD ['echo']", 'CMD ["a"] trailing', "CMD [\"a\",]"):
        cmd = only(text)
        assert isinstance(cmd, ins.Cmd) and not cmd.command.exec_form and cmd.command.args == (text[4:],)
    ep = only('ENTRYPOINT []')
    assert isinstance(ep, ins.Entrypoint) and ep.command == ins.Command(exec_form=True, args=())
    with pytest.raises(DockerfileError, match="arrays must be comprised of strings only"):
        parse('FROM a\nRUN ["a", 1]')


def test_from_forms_and_stages() -> None:
    df = parse("ARG V=1\nARG B\nFROM --platform=$BUILDPLATFORM base:$V AS Builder\nRUN x\n"
               "from builder as second\nFROM scratch\n")
    assert [a.pairs for a in df.global_args] == [(("V", "1"),), (("B", None),)]
    first, second, third = df.stages
    assert (first.index, first.name, first.base.image, first.base.platform) == (0, "builder", "base:$V",
                                                                                 "$BUILDPLATFORM")
    assert len(first.instructions) == 1 and second.name == "second" and second.base.image == "builder"
    assert third.name == "" and third.base.image == "scratch" and third.instructions == ()


@pytest.mark.parametrize(("text", "message"), [
    ("FROM", "FROM requires either one or three arguments"),
    ("FROM a b", "FROM requires either one or three arguments"),
    ("FROM a AS 1x", 'invalid name for build stage: "1x", name can\'t start with a number or contain symbols'),
    ("FROM --platfrom=x a", "unknown flag: --platfrom (did you mean platform?)"),
    ("FROM --os=x a", "unknown flag: --os"),
    ("FROM --platform a", "missing a value on flag: --platform"),
])  # fmt: skip
def test_from_errors(text: str, message: str) -> None:
    with pytest.raises(DockerfileError) as caught:
        parse(text)
    assert str(caught.value) == f"dockerfile parse error on line 1: {message}"


def test_instruction_before_from_and_unknown_instruction() -> None:
    with pytest.raises(DockerfileError) as caught:
        parse("ARG A\nRUN x\nFROM a")
    assert (caught.value.line, str(caught.value)) == (2, "no build stage in current context")
    with pytest.raises(DockerfileError) as caught:
        parse("FROM a\n\nRUNN x")
    assert str(caught.value) == "dockerfile parse error on line 3: unknown instruction: RUNN (did you mean RUN?)"
    with pytest.raises(DockerfileError) as caught:
        parse("FROM a\nfrobnicate bar")
    assert str(caught.value) == "dockerfile parse error on line 2: unknown instruction: frobnicate"
    with pytest.raises(DockerfileError) as caught:
        parse("# only a comment\n\n")
    assert (caught.value.line, str(caught.value)) == (2, "failed to parse Dockerfile: file with no instructions")


def test_an_empty_file() -> None:
    with pytest.raises(DockerfileError) as caught:
        parse("")
    assert str(caught.value) == "the Dockerfile (Dockerfile) cannot be empty"
    assert caught.value.text("app.Dockerfile") == "the Dockerfile (app.Dockerfile) cannot be empty"
