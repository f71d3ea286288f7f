"""`pycompose build`, `up --build`, `pull_policy: build`, `run/create --build`, `builder prune`: end to end,
the real CLI against a private engine building real images and running them."""

from __future__ import annotations

import re

from tests.compose.cli import compose_e2e
from tests.compose.cli.compose_e2e import Stack

compose_engine = compose_e2e.compose_engine  # a fixture: the module's engine
stack = compose_e2e.stack  # a fixture: a project folder and name, taken down after the test

TWO = """
services:
  base:
    build: {context: ./base, network: none}
    command: ["true"]
    network_mode: none
  app:
    build: {context: ./app, network: none, args: {GREETING: hello}}
    depends_on: [base]
    network_mode: none
"""
BASE = "FROM busybox\nLABEL stack={project}\nRUN echo base > /base.txt\n"  # a cache of its own
APP = """FROM {project}-base
ARG GREETING
COPY . /app
RUN echo "$GREETING" > /greeting && cat /base.txt
CMD ["sh", "-c", "cat /base.txt /greeting /app/hello.txt; ls -a /app"]
"""


def two(stack: Stack) -> None:
    stack.write(TWO)
    for folder in ("base", "app"):
        (stack.dir / folder).mkdir()
    stack.write(BASE.format(project=stack.name), "base/Dockerfile")
    stack.write(APP.format(project=stack.name), "app/Dockerfile")
    stack.write("hi\n", "app/hello.txt")
    stack.write("secret\n", "app/secret.txt")
    stack.write("secret.txt\n*.tmp\n!keep.tmp\n", "app/.dockerignore")
    stack.write("", "app/drop.tmp")
    stack.write("", "app/keep.tmp")


def steps(output: str) -> list[str]:
    """The classic builder's step lines and what each did, in order, from a plain progress display."""
    return [line.split("  ", 1)[1].strip() for line in output.splitlines()
            if re.search(r"  (Step \d+/\d+ :| ---> Using cache| ---> Running in)", line)]


def test_up_build_of_a_service_built_from_another_ones_image(stack: Stack) -> None:
    two(stack)
    up = stack.ok("--progress", "plain", "up", "--build", "--abort-on-container-exit", "--exit-code-from", "app")
    assert "Service base  Built" in up.stderr and "Service app  Built" in up.stderr, up.stderr
    assert up.stderr.index("Service base  Built") < up.stderr.index("Service app  Building")
    out = stack.ok("logs", "--no-log-prefix", "app").stdout.split()
    assert out[:3] == ["base", "hello", "hi"]
    assert "keep.tmp" in out and "hello.txt" in out and "secret.txt" not in out and "drop.tmp" not in out
    images = {c["Service"]: c["Image"] for c in stack.containers()}
    assert images == {"base": f"{stack.name}-base", "app": f"{stack.name}-app"}


def test_build_twice_the_second_all_cached_and_a_change_rebuilds_from_its_copy(stack: Stack) -> None:
    two(stack)
    first = stack.ok("--progress", "plain", "build")
    assert " ---> Using cache" not in first.stderr
    again = steps(stack.ok("--progress", "plain", "build").stderr)  # each Dockerfile, then LABEL of compose's labels
    assert again.count("---> Using cache") == 8 and "---> Running in" not in " ".join(again), again
    stack.write("changed\n", "app/hello.txt")
    changed = steps(stack.ok("--progress", "plain", "build", "app").stderr)
    copy = next(i for i, line in enumerate(changed) if line.startswith("Step 3/6 : COPY"))  # 6: compose's labels
    assert changed[: copy].count("---> Using cache") == 1  # ARG: cached; FROM says nothing
    assert "---> Using cache" not in changed[copy:], changed


def test_build_flags_and_quiet(stack: Stack) -> None:
    two(stack)
    quiet = stack.ok("build", "-q", "--with-dependencies", "app")
    assert quiet.stdout == "" and quiet.stderr == ""
    args = stack.ok("--progress", "plain", "build", "--no-cache", "--build-arg", "GREETING=bonjour", "-m", "64m", "app")
    assert "Using cache" not in args.stderr and "Service base" not in args.stderr  # no dependencies unless asked
    out = stack.ok("run", "--rm", "--no-deps", "app", "cat", "/greeting").stdout
    assert out.strip() == "bonjour"


def test_pull_policy_build_rebuilds_at_each_up(stack: Stack) -> None:
    stack.write("""
services:
  job:
    build:
      context: .
      network: none
      dockerfile_inline: |
        FROM busybox
        COPY stamp /stamp
        CMD ["cat", "/stamp"]
    pull_policy: build
    network_mode: none
""")
    stack.write("one\n", "stamp")
    stack.ok("up", "-d")
    stack.write("two\n", "stamp")
    rebuilt = stack.ok("--progress", "plain", "up", "-d")
    assert "Service job  Built" in rebuilt.stderr
    assert stack.ok("run", "--rm", "job").stdout.strip() == "two"
    stack.write("three\n", "stamp")
    assert "Building" not in stack.ok("--progress", "plain", "up", "-d", "--no-build").stderr


def test_run_and_create_build(stack: Stack) -> None:
    stack.write("services:\n  t:\n    build: {context: ., network: none}\n    network_mode: none\n")
    stack.write("FROM busybox\nCOPY v /v\nCMD [\"true\"]\n", "Dockerfile")
    stack.write("1\n", "v")
    assert stack.ok("run", "--rm", "t", "cat", "/v").stdout.strip() == "1"  # missing: built
    stack.write("2\n", "v")
    assert stack.ok("run", "--rm", "t", "cat", "/v").stdout.strip() == "1"  # there: used
    assert stack.ok("run", "--rm", "--build", "t", "cat", "/v").stdout.strip() == "2"
    stack.write("3\n", "v")
    created = stack.ok("--progress", "plain", "create", "--build")
    assert "Service t  Built" in created.stderr and f"Container {stack.name}-t-1  Created" in created.stderr


def test_errors_are_one_line(stack: Stack) -> None:
    stack.write("services:\n  web:\n    build: {context: ., dockerfile: docker/web.Dockerfile, network: none}\n")
    (stack.dir / "docker").mkdir()
    stack.write("FROM busybox\n\nFOO bar\n", "docker/web.Dockerfile")
    bad = stack.run("build")
    assert bad.returncode == 1
    last = bad.stderr.strip().splitlines()[-1]  # buildkit's parser adds "(did you mean FROM?)"
    assert last.startswith("docker/web.Dockerfile:3: unknown instruction: FOO"), bad.stderr
    assert bad.stderr.count("unknown instruction") == 1
    stack.write("FROM busybox\nRUN exit 3\n", "docker/web.Dockerfile")
    failed = stack.run("up", "-d")
    assert failed.returncode == 1 and failed.stderr.count("non-zero code") == 1
    assert failed.stderr.strip().splitlines()[-1] == (
        "service \"web\" failed to build: The command '/bin/sh -c exit 3' returned a non-zero code: 3"), failed.stderr
    stack.write("services:\n  web:\n    build: {context: ., ssh: [default]}\n")
    refused = stack.run("build")
    assert refused.returncode == 1 and refused.stderr.strip().startswith('service "web": build: ssh:')


def test_builder_prune(stack: Stack) -> None:
    stack.write("services:\n  t:\n    build: {context: ., network: none}\n")
    stack.write("FROM busybox\nRUN echo cached > /c\n", "Dockerfile")
    stack.ok("build")
    pruned = stack.ok("builder", "prune", "-a", "-f")
    assert pruned.stdout.strip().splitlines()[-1].startswith("Total reclaimed space: ")
    rebuilt = stack.ok("--progress", "plain", "build")
    assert "Using cache" not in rebuilt.stderr  # the cache is gone


def test_inline_and_outside_dockerfiles_and_their_ignore_files(stack: Stack) -> None:
    stack.write("""
services:
  inline:
    build:
      context: ./ctx
      network: none
      dockerfile_inline: |
        FROM busybox
        COPY . /ctx
        CMD ["ls", "-a", "/ctx"]
    network_mode: none
  outside:
    build: {context: ./ctx, dockerfile: ../docker/outside.Dockerfile, network: none}
    network_mode: none
""")
    for folder in ("ctx", "docker"):
        (stack.dir / folder).mkdir()
    stack.write("FROM busybox\nCOPY . /ctx\nCMD [\"ls\", \"-a\", \"/ctx\"]\n", "docker/outside.Dockerfile")
    stack.write("a.txt\n", "docker/outside.Dockerfile.dockerignore")  # beside the Dockerfile: it wins
    stack.write("b.txt\n", "ctx/.dockerignore")
    for name in ("a.txt", "b.txt", "c.txt"):
        stack.write(name, f"ctx/{name}")
    stack.ok("build")
    inline = stack.ok("run", "--rm", "inline").stdout.split()
    outside = stack.ok("run", "--rm", "outside").stdout.split()
    assert "a.txt" in inline and "b.txt" not in inline and "c.txt" in inline
    assert "a.txt" not in outside and "b.txt" in outside and "c.txt" in outside
    assert not [name for name in inline + outside if name.startswith(".dockerfile.")]  # the CLI's hidden name


def test_independent_services_build_at_once(stack: Stack) -> None:
    stack.write("""
services:
  one: {build: {context: ./one, network: none}, network_mode: none}
  two: {build: {context: ./two, network: none}, network_mode: none}
""")
    for name in ("one", "two"):
        (stack.dir / name).mkdir()
        dockerfile = f"FROM busybox\nLABEL stack={stack.name}\nRUN sleep 1 && echo {name} > /name\n"
        stack.write(dockerfile, f"{name}/Dockerfile")
    lines = stack.ok("--progress", "plain", "build").stderr.splitlines()
    building = [i for i, line in enumerate(lines) if line.strip().endswith("  Building")]
    built = [i for i, line in enumerate(lines) if line.strip().endswith("  Built")]
    assert len(building) == 2 and len(built) == 2 and max(building) < min(built), lines
