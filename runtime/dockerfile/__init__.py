"""Dockerfiles: the syntax of the Dockerfile reference, read into typed instructions.

Pure (no I/O). `parser.parse(text)` gives an `instructions.Dockerfile` or raises
`errors.DockerfileError` (line and message, worded as dockerd's); `words.expand` turns a raw
word into its value with the ARG/ENV in scope; `config.apply_instruction` applies a metadata
instruction to a container config; `run_argv.run_argv` gives a RUN step's argv. Inside:
`scanner` (lines, directives, continuations, heredoc bodies) → `syntax` (a logical line as a
node) → `commands` (typed instruction, flags via `flags`, `--mount` via `mounts`). Used by the
builder (`runtime/build/`) and by `--change` instructions (`runtime/images/changes.py`).
"""
