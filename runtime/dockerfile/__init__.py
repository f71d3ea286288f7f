"""Dockerfiles: the syntax of the Dockerfile reference, read into typed instructions.

Pure (no I/O): `parser.parse(text)` gives an `instructions.Dockerfile` or raises
`errors.DockerfileError` (line and message); `words.expand` turns a raw word into
its value with the ARG/ENV in scope. Used by the builder (`runtime/build/`) and by
`--change` instructions (`runtime/images/changes.py`).
"""
