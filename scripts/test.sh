#!/usr/bin/env bash
# The whole test suite: setup, then ruff, mypy and pytest (lint runs as tests in tests/test_lint.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-image
exec .venv/bin/python -m pytest "$@"
