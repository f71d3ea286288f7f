"""Each instruction's shape and flags, and buildkit's message (and line) for each refusal."""

from __future__ import annotations

import pytest

from runtime.dockerfile import instructions as ins
from runtime.dockerfile.errors import DockerfileError
from runtime.dockerfile.parser import parse
from tests.runtime.dockerfile.helpers import only


def test_run_flags_and_mounts() -> None:
    run = only("RUN --network=none --mount=type=bind,source=/src,target=/s,from=build "
               "--mount=type=secret,id=tok,env=TOKEN,required make")
    assert isinstance(run, ins.Run) and run.network == "none" and run.command.args == ("make",)
    bind, secret = run.mounts
    assert (bind.type, bind.source, bind.target, bind.from_, bind.rw) == ("bind", "/src", "/s", "build", False)
    assert (secret.type, secret.id, secret.env, secret.required) == ("secret", "tok", "TOKEN", True)
    assert only('RUN --network=host ["true"]') == ins.Run(
        line=2, original='RUN --network=host ["true"]', command=ins.Command(exec_form=True, args=("true",)),
        network="host")


def test_copy_and_add_flags() -> None:
    copy = only("COPY --from=0 --chown=app:app --chmod=u+x --link --parents --exclude=*.md --exclude=.git "
                '["a b", "c", "/dst/"]')
    assert isinstance(copy, ins.Copy) and not copy.add
    assert (copy.from_, copy.chown, copy.chmod, copy.link, copy.parents) == ("0", "app:app", "u+x", True, True)
    assert copy.excludes == ("*.md", ".git") and copy.sources == ("a b", "c") and copy.dest == "/dst/"
    add = only("ADD --checksum=sha256:abc --keep-git-dir=true --unpack=false https://x/y.tgz /d")
    assert isinstance(add, ins.Copy) and add.add and add.checksum == "sha256:abc" and add.keep_git_dir
    assert add.unpack is False and add.sources == ("https://x/y.tgz",)
    add = only("ADD a.tar $D")
    assert isinstance(add, ins.Copy) and add.unpack is None and add.dest == "$D"
    copy = only('COPY --chown="a b" -- --weird /d')
    assert isinstance(copy, ins.Copy) and copy.chown == "a b" and copy.sources == ("--weird",)


def test_env_label_arg_forms() -> None:
    env = only('ENV A=1 B="two words" C=${A}x D=')
    assert isinstance(env, ins.Env) and env.pairs == (("A", "1"), ("B", '"two words"'), ("C", "${A}x"), ("D", ""))
    env = only("ENV LEGACY  the   rest ")
    assert isinstance(env, ins.Env) and env.pairs == (("LEGACY", "the   rest"),)
    label = only('LABEL "com.x"="y z" k=v')
    assert isinstance(label, ins.Label) and label.pairs == (('"com.x"', '"y z"'), ("k", "v"))
    arg = only('ARG A B=2 C="x y"')
    assert isinstance(arg, ins.Arg) and arg.pairs == (("A", None), ("B", "2"), ("C", '"x y"'))


def test_single_argument_instructions_keep_the_text() -> None:
    assert only("WORKDIR /a b/$X") == ins.Workdir(line=2, original="WORKDIR /a b/$X", path="/a b/$X")
    assert only("USER app:app") == ins.User(line=2, original="USER app:app", user="app:app")
    assert only("STOPSIGNAL SIGKILL") == ins.StopSignal(line=2, original="STOPSIGNAL SIGKILL", signal="SIGKILL")
    assert only("MAINTAINER Jo <jo@x>") == ins.Maintainer(line=2, original="MAINTAINER Jo <jo@x>", name="Jo <jo@x>")


def test_expose_volume_shell() -> None:
    expose = only("EXPOSE 8080/udp 80 $P")
    assert isinstance(expose, ins.Expose) and expose.ports == ("$P", "80", "8080/udp")
    assert isinstance(v := only("VOLUME /a /b"), ins.Volume) and v.paths == ("/a", "/b")
    assert isinstance(v := only('VOLUME [" /c "]'), ins.Volume) and v.paths == ("/c",)
    assert isinstance(s := only('SHELL ["bash", "-eu", "-c"]'), ins.Shell) and s.args == ("bash", "-eu", "-c")


def test_healthcheck() -> None:
    hc = only("HEALTHCHECK --interval=1m30s --timeout=3s --start-period=1s --start-interval=100ms --retries=5 "
              "CMD curl -f http://localhost/")
    assert isinstance(hc, ins.Healthcheck) and hc.command == ins.Command(False, ("curl -f http://localhost/",))
    assert (hc.interval, hc.timeout, hc.start_period, hc.start_interval, hc.retries) == (
        90 * 10**9, 3 * 10**9, 10**9, 10**8, 5)
    assert isinstance(hc := only('healthcheck cmd ["true"]'), ins.Healthcheck) and hc.command == ins.Command(
        True, ("true",))
    assert isinstance(hc := only("HEALTHCHECK none"), ins.Healthcheck) and hc.command is None


def test_onbuild() -> None:
    onbuild = only("onbuild  copy --chown=1 . /app")
    assert isinstance(onbuild, ins.OnBuild) and onbuild.trigger == "copy --chown=1 . /app"


def test_case_insensitive_instructions() -> None:
    assert isinstance(only("rUn x"), ins.Run) and isinstance(only("Cmd x"), ins.Cmd)


@pytest.mark.parametrize(("text", "message"), [
    ("COPY a", "COPY requires at least two arguments, but only one was provided. Destination could not be determined"),
    ("ADD a", "ADD requires at least two arguments, but only one was provided. Destination could not be determined"),
    ("COPY --chmod a b", "missing a value on flag: --chmod"),
    ("COPY --link=maybe a b", "expecting boolean value for flag --link, not: maybe"),
    ("COPY --link= a b", "missing a value on flag: --link"),
    ("COPY --from=a --from=b a b", "duplicate flag specified: --from"),
    ("COPY --chonw=1 a b", "unknown flag: --chonw (did you mean chown?)"),
    ("ADD --from=x a b", "unknown flag: --from"),
    ("COPY --unpack a b", "unknown flag: --unpack"),
    ("RUN --network=bridge x", 'invalid network mode "bridge"'),
    ("RUN --mount=type=cach,target=/x x", 'unsupported mount type "cach" (did you mean cache?)'),
    ("RUN --mount=target=/x,mode=0755 x", 'mode not allowed for "bind" type mounts'),
    ("RUN --mount=type=tmpfs,target=/x,size=big x", "invalid value for size: big"),
    ("RUN --mount=type=cache,target=/x,sharing=everyone x", 'unsupported sharing value "everyone"'),
    ("RUN --mount=type=cache,target=/x,uid=-1 x", "invalid value -1 for uid"),
    ("RUN --mount=type=secret x", "invalid secret mount. one of source, target required"),
    ("RUN --mount=type=secret,id=a,from=b x", "secret mount should not have a from"),
    ("RUN --mount=type=bind,target=/x,sharing=locked x", "invalid cache sharing set for bind mount"),
    ("RUN --mount=type=bind,target=/x,colour=red x", "unexpected key 'colour' in 'colour=red'"),
    ("RUN --mount=type=bind,targte=/x x", "unexpected key 'targte' in 'targte=/x' (did you mean target?)"),
    ("RUN --mount=type=bind,from=$STAGE,target=/x x",
     "'from' doesn't support variable expansion, define alias stage instead"),
    ("RUN --mount=type=bind,size=1 x", "unexpected key 'size' for mount type 'bind'"),
    ("RUN --mount=type=bind,target=/x,flag x", "invalid field 'flag' must be a key=value pair"),
    ("RUN --security=insecure x", "unknown flag: --security"),
    ("ENV", "ENV requires at least one argument"),
    ("ENV =1", "ENV names can not be blank"),
    ("LABEL", "LABEL requires at least one argument"),
    ("ARG", "ARG requires at least one argument"),
    ("ARG =x", "ARG names can not be blank"),
    ("WORKDIR", "WORKDIR requires exactly one argument"),
    ("USER", "USER requires exactly one argument"),
    ("STOPSIGNAL", "STOPSIGNAL requires exactly one argument"),
    ("MAINTAINER", "MAINTAINER requires exactly one argument"),
    ("EXPOSE", "EXPOSE requires at least one argument"),
    ("VOLUME", "VOLUME requires at least one argument"),
    ('VOLUME [""]', "VOLUME specified can not be an empty string"),
    ("SHELL", "SHELL requires at least one argument"),
    ("SHELL []", "SHELL requires at least one argument"),
    ("SHELL bash -c", "SHELL requires the arguments to be in JSON form"),
    ("HEALTHCHECK", "HEALTHCHECK requires at least one argument"),
    ("HEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments"),
    ("HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD"),
    ("HEALTHCHECK HTTP /", 'Unknown type "HTTP" in HEALTHCHECK (try CMD)'),
    ("HEALTHCHECK --interval=10us CMD true", 'Interval "interval" cannot be less than 1ms'),
    ("HEALTHCHECK --timeout=5 CMD true", 'time: missing unit in duration "5"'),
    ("HEALTHCHECK --retries=-1 CMD true", "--retries cannot be negative (-1)"),
    ("HEALTHCHECK --retries=x CMD true", 'strconv.ParseInt: parsing "x": invalid syntax'),
    ("HEALTHCHECK --every=1s CMD true", "unknown flag: --every"),
    ("HEALTHCHECK --interval CMD true", "missing a value on flag: --interval"),
    ("ONBUILD", "ONBUILD requires at least one argument"),
    ("ONBUILD ONBUILD RUN x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    ("ONBUILD from a", "FROM isn't allowed as an ONBUILD trigger"),
    ("ONBUILD MAINTAINER me", "MAINTAINER isn't allowed as an ONBUILD trigger"),
    ("ENV --x=1 A=1", "unknown flag: --x"),
    ("CMD --x=1 true", "unknown flag: --x"),
])  # fmt: skip
def test_errors(text: str, message: str) -> None:
    with pytest.raises(DockerfileError) as caught:
        parse(f"FROM scratch\n\n{text}\n")
    assert (caught.value.line, caught.value.message) == (3, message)
    assert str(caught.value) == f"dockerfile parse error on line 3: {message}"


@pytest.mark.parametrize(("text", "message"), [
    ("ENV A", "ENV must have two arguments"),
    ("ENV A=1 B", "Syntax error - can't find = in \"B\". Must be of the form: name=value"),
    ("LABEL x", "LABEL must have two arguments"),
    ('RUN ["a", null]', "when using JSON array syntax, arrays must be comprised of strings only"),
])  # fmt: skip
def test_errors_of_the_line_reader(text: str, message: str) -> None:
    """Found while reading lines (buildkit's parser, not its instructions): dockerd says "failed to parse"."""
    with pytest.raises(DockerfileError) as caught:
        parse(f"FROM scratch\n\n{text}\n")
    assert (caught.value.line, caught.value.message) == (3, message)
    assert str(caught.value) == f"failed to parse Dockerfile: {message}"
    assert caught.value.text("sub/Dockerfile.dev") == f"failed to parse sub/Dockerfile.dev: {message}"


def test_error_line_is_the_first_line_of_a_continued_instruction() -> None:
    with pytest.raises(DockerfileError) as caught:
        parse("FROM a\nRUN echo \\\n  a\nCOPY \\\n  onlyone\n")
    assert (caught.value.line, caught.value.end_line) == (4, 5)
