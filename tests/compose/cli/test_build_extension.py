"""Build secrets and additional contexts through our engine's extension of `POST /build`, end to end:
`pycompose build` against the session's private engine, then the image run."""

from __future__ import annotations

import hashlib
import json
import subprocess

from tests.compose.cli import compose_e2e
from tests.compose.cli.compose_e2e import Stack
from tests.compose.cli.engines import environ

compose_engine = compose_e2e.compose_engine  # a fixture: the module's engine
stack = compose_e2e.stack  # a fixture: a project folder and name, taken down after the test

PROJECT = """
secrets:
  token: {file: ./token.txt}
  fromenv: {environment: BUILD_TOKEN}
services:
  app:
    build:
      context: ./app
      network: none
      secrets: [token, {source: fromenv, target: other}]
      additional_contexts:
        extra: ./extra
        base: docker-image://busybox
    command: ["true"]
    network_mode: none
"""
DOCKERFILE = """FROM extra AS files
FROM base
COPY --from=extra data.txt /data.txt
COPY --from=files /data.txt /via-stage.txt
RUN --mount=from=extra,target=/x test "$(cat /x/data.txt)" = extra-data
RUN --mount=type=secret,id=token test "$(md5sum < /run/secrets/token)" = "{file_md5}  -"
RUN --mount=type=secret,id=other,env=OTHER test "$(printf %s "$OTHER" | md5sum)" = "{env_md5}  -"
RUN test ! -e /run/secrets/token && test ! -e /data.txt.ignored
"""


def dockerfile() -> str:
    """The Dockerfile checks the secrets by their digests: their values are nowhere in the build's input."""
    return DOCKERFILE.format(file_md5=hashlib.md5(b"s3cret-file").hexdigest(),
                             env_md5=hashlib.md5(b"s3cret-env").hexdigest())


def project(stack: Stack) -> None:
    stack.write(PROJECT)
    for folder in ("app", "extra"):
        (stack.dir / folder).mkdir()
    stack.write(dockerfile(), "app/Dockerfile")
    stack.write("extra-data", "extra/data.txt")
    stack.write("no", "extra/data.txt.ignored")
    stack.write("*.ignored\n", "extra/.dockerignore")
    stack.write("s3cret-file", "token.txt")


def docker(stack: Stack, *args: str) -> str:
    done = subprocess.run(["docker", *args], env=environ(stack.handle), capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_secrets_and_additional_contexts_on_our_engine(stack: Stack) -> None:
    project(stack)
    first = stack.ok("--progress", "plain", "build", env={"BUILD_TOKEN": "s3cret-env"})
    image = f"{stack.name}-app"
    out = docker(stack, "run", "--rm", "--network", "none", image, "cat", "/data.txt", "/via-stage.txt")
    assert out == "extra-dataextra-data"
    # The secrets are in no layer, no history, no config.
    history = docker(stack, "history", "--no-trunc", image)
    inspect = docker(stack, "image", "inspect", image)
    saved = subprocess.run(["docker", "save", image], env=environ(stack.handle), capture_output=True,
                           timeout=60, check=True).stdout
    for text in ("s3cret",):
        assert text not in history and text not in inspect and text.encode() not in saved
        assert text not in first.stdout + first.stderr
    assert json.loads(inspect)[0]["Config"]["Env"]
    # Unchanged: all from cache (secrets are not in the key); a change in the named context rebuilds from its COPY.
    again = stack.ok("--progress", "plain", "build", env={"BUILD_TOKEN": "s3cret-env"}).stderr
    assert "Running in" not in again, again
    stack.write("extra-data2", "extra/data.txt")
    changed = stack.run("--progress", "plain", "build", env={"BUILD_TOKEN": "s3cret-env"})
    assert changed.returncode != 0 and "returned a non-zero code: 1" in changed.stderr  # the RUN's test now fails


def test_a_missing_secret_and_a_bad_context_are_one_line(stack: Stack) -> None:
    project(stack)
    stack.write(dockerfile().replace("id=token", "id=nope,required=true"), "app/Dockerfile")
    failed = stack.run("build", env={"BUILD_TOKEN": "s3cret-env"})
    assert failed.returncode != 0 and "secret nope: not found" in failed.stderr, failed.stderr
    stack.write(PROJECT.replace("./extra", "./missing"))
    failed = stack.run("build")
    assert failed.returncode != 0 and "additional_contexts: extra" in failed.stderr
    assert "Traceback" not in failed.stderr


SERVICES = """
services:
  app:
    build:
      context: ./app
      network: none
      additional_contexts: {base: "service:base"}
    network_mode: none
  base:
    build: {context: ./base, network: none}
    network_mode: none
"""


def test_a_service_context_is_built_first_and_is_the_base(stack: Stack) -> None:
    stack.write(SERVICES)
    for folder in ("app", "base"):
        (stack.dir / folder).mkdir()
    stack.write("FROM busybox\nRUN echo from-base > /base.txt\n", "base/Dockerfile")
    stack.write("FROM base\nCOPY --from=base /base.txt /copied.txt\nCMD [\"cat\", \"/base.txt\", \"/copied.txt\"]\n",
                "app/Dockerfile")
    out = stack.ok("--progress", "plain", "build").stderr
    assert out.index("Service base  Built") < out.index("Service app  Building"), out
    assert docker(stack, "run", "--rm", "--network", "none", f"{stack.name}-app") == "from-base\nfrom-base\n"
