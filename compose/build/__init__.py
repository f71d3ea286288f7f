"""Compose `build:` on the client side, as the docker CLI's classic builder client does.

`spec.py` turns a service's `build` section (and the command's flags) into a
typed `BuildSpec`; `ignore.py` is `.dockerignore` (moby/patternmatcher's
rules); `context.py` makes the context tar the client sends (a Dockerfile
outside the context or `dockerfile_inline` added under a random name, as
the docker CLI adds `-f -`); `stream.py` reads `POST /build`'s answer and
turns an engine error into one line; `run.py` builds services in
dependency order, independent ones at once, with a progress line each.
"""
