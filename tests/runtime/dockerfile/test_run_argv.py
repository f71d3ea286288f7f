"""run_argv: RUN's argv in both forms and with heredocs, as buildkit runs them."""

from __future__ import annotations

from runtime.dockerfile import instructions as ins
from runtime.dockerfile.run_argv import RunArgv, ScriptFile, run_argv
from tests.runtime.dockerfile.helpers import only


def run_of(text: str) -> ins.Run:
    run = only(text)
    assert isinstance(run, ins.Run)
    return run


def test_forms() -> None:
    assert run_argv(run_of("RUN echo $HOME").command) == RunArgv(["/bin/sh", "-c", "echo $HOME"])
    assert run_argv(run_of('RUN ["echo", "$HOME"]').command) == RunArgv(["echo", "$HOME"])
    assert run_argv(run_of("RUN x").command, ["bash", "-c"]).argv == ["bash", "-c", "x"]


def test_a_lone_heredoc_is_the_script() -> None:
    assert run_argv(run_of("RUN <<-EOF\n\techo a\n\techo b\nEOF\n").command).argv == [
        "/bin/sh", "-c", "echo a\necho b\n"]


def test_a_shebang_heredoc_runs_as_a_file() -> None:
    got = run_argv(run_of("RUN <<run.py\n#!/usr/bin/env python3\nprint(1)\nrun.py\n").command)
    script = ScriptFile("/dev/pipes/run.py", "#!/usr/bin/env python3\nprint(1)\n")
    assert got == RunArgv(["/dev/pipes/run.py"], (script,))


def test_other_heredocs_go_back_to_the_shell() -> None:
    got = run_argv(run_of("RUN cat <<A > /a && cat <<B > /b\none\nA\ntwo\nB\n").command)
    assert got.argv == ["/bin/sh", "-c", "cat <<A > /a && cat <<B > /b\none\nA\ntwo\nB"]
    got = run_argv(run_of("RUN <<EOF bash -e\nset -x\nEOF\n").command)
    assert got.argv == ["/bin/sh", "-c", "<<EOF bash -e\nset -x\nEOF"]
