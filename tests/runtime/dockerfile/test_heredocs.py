"""Heredocs: RUN/COPY/ADD (and ONBUILD of those) bodies, delimiters, `<<-`, quotes, several per line."""

from __future__ import annotations

import pytest

from runtime.dockerfile import instructions as ins
from runtime.dockerfile.errors import DockerfileError
from runtime.dockerfile.parser import parse

# buildkit's parser_heredoc_test cases, with what each gives (name, content, expand, chomp)
DOCKERFILE = """\
FROM alpine:3.6
ENV NAME=me
USER <<INVALID
RUN <<EMPTY
EMPTY
RUN 3<<EMPTY2
EMPTY2
RUN "<<NOHEREDOC"
RUN <<INDENT
\tfoo
\tbar
INDENT
RUN <<-UNINDENT2
\tbaz
\tquux
\tUNINDENT2
RUN <<-'NOEXPAND'
\tdon't expand $NAME
NOEXPAND
RUN <<COMMENT
# internal comment
echo foo bar # trailing comment
COMMENT
RUN --mount=type=cache,target=/foo <<MOUNT
echo hello
MOUNT
COPY <<X <<Y /dest
Y
X
X
Y
RUN <<COMPLEX python3
print('hello world')
COMPLEX
RUN <<eo'f'
echo foo
eof
RUN <<eo\\'f
echo foo
eo'f
RUN <<'e'o\\'f
echo foo
eo'f
RUN <<'one two'
echo bar
one two
RUN <<$EOF
$EOF
RUN <<  EOF  > foo
EOF
RUN ["cat", "<<EOF"]
"""

EXPECTED: list[tuple[tuple[str, str, bool, bool], ...]] = [
    (),  # ENV
    (),  # USER <<INVALID: not an instruction that takes heredocs (the next line is an instruction)
    (("EMPTY", "", True, False),),
    (("EMPTY2", "", True, False),),
    (),
    (("INDENT", "\tfoo\n\tbar\n", True, False),),
    (("UNINDENT2", "baz\nquux\n", True, True),),
    (("NOEXPAND", "don't expand $NAME\n", False, True),),
    (("COMMENT", "# internal comment\necho foo bar # trailing comment\n", True, False),),
    (("MOUNT", "echo hello\n", True, False),),
    (("X", "Y\n", True, False), ("Y", "X\n", True, False)),
    (("COMPLEX", "print('hello world')\n", True, False),),
    (("eof", "echo foo\n", False, False),),
    (("eo'f", "echo foo\n", True, False),),
    (("eo'f", "echo foo\n", False, False),),
    (("one two", "echo bar\n", False, False),),
    (("$EOF", "", True, False),),
    (("EOF", "", True, False),),
    (),  # exec form: no heredocs
]


def _heredocs(instruction: ins.Instruction) -> tuple[ins.Heredoc, ...]:
    if isinstance(instruction, ins.Run):
        return instruction.command.heredocs
    if isinstance(instruction, ins.Copy):
        return instruction.heredocs
    return ()


def test_buildkit_cases() -> None:
    (stage,) = parse(DOCKERFILE).stages
    got = [tuple((h.name, h.content, h.expand, h.chomp) for h in _heredocs(i)) for i in stage.instructions]
    assert got == EXPECTED


def test_run_keeps_the_command_line_and_lines_count_the_bodies() -> None:
    df = parse("FROM a\nRUN <<EOF bash -e\nset -x\necho $HOME\nEOF\nRUN after\n")
    run, after = df.stages[0].instructions
    assert isinstance(run, ins.Run) and run.command.args == ("<<EOF bash -e",) and not run.command.exec_form
    assert run.command.heredocs == (ins.Heredoc("EOF", "set -x\necho $HOME\n", expand=True, chomp=False),)
    assert (run.line, after.line) == (2, 6)


def test_copy_and_add_heredoc_sources_with_files() -> None:
    df = parse("FROM a\nCOPY --chmod=755 <<run.sh a.txt /app/\n#!/bin/sh\necho hi\nrun.sh\n"
               "ADD <<EOF /etc/motd\nhello\nEOF\n")
    copy, add = df.stages[0].instructions
    assert isinstance(copy, ins.Copy) and copy.sources == ("a.txt",) and copy.dest == "/app/"
    assert copy.heredocs == (ins.Heredoc("run.sh", "#!/bin/sh\necho hi\n", expand=True, chomp=False),)
    assert copy.chmod == "755"
    assert isinstance(add, ins.Copy) and add.add and add.sources == () and add.heredocs[0].content == "hello\n"


def test_onbuild_trigger_keeps_the_heredoc_text() -> None:
    df = parse("FROM a\nONBUILD RUN <<-EOF\n\techo hi\n\tEOF\n")
    (onbuild,) = df.stages[0].instructions
    assert isinstance(onbuild, ins.OnBuild) and onbuild.trigger == "RUN <<-EOF\n\techo hi\nEOF"


def test_crlf_bodies_keep_their_line_ends() -> None:
    df = parse("FROM a\r\nRUN <<EOF\r\necho hi\r\nEOF\r\n")
    (run,) = df.stages[0].instructions
    assert isinstance(run, ins.Run) and run.command.heredocs[0].content == "echo hi\r\n"


@pytest.mark.parametrize(("text", "message"), [
    ("FROM a\nRUN <<EOF\necho hi\n", "failed to parse Dockerfile: unterminated heredoc"),
    ("FROM a\nCOPY a <<EOF\nx\nEOF\n",
     "dockerfile parse error on line 2: COPY cannot accept a heredoc as a destination"),
    ("FROM a\nRUN <<A <<B\nA\n", "failed to parse Dockerfile: unterminated heredoc"),
])  # fmt: skip
def test_errors(text: str, message: str) -> None:
    with pytest.raises(DockerfileError) as caught:
        parse(text)
    assert str(caught.value) == message and caught.value.line == 2
