"""`pycompose config` on real compose files, compared with reviewed golden outputs.

Each folder under golden/ is a project: its files, `args` (the command line),
optional `environ` (the OS environment) and `stdin` (file fed to stdin), and
`expected.out` / `expected.err` with `$DIR` for the folder.
Set PYCOMPOSE_REGOLD=1 to rewrite the expected files (then review the diff).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from tests.compose.cli.runner import read_environ, run_pycompose

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "args").is_file())


@pytest.mark.parametrize("case", CASES)
def test_config_golden(case: str) -> None:
    folder = GOLDEN / case
    args = shlex.split((folder / "args").read_text())
    stdin_file = folder / "stdin"
    stdin = (folder / stdin_file.read_text().strip()).read_text() if stdin_file.is_file() else ""
    result = run_pycompose(args, folder, read_environ(folder / "environ"), stdin)
    out = result.stdout.replace(str(folder), "$DIR")
    err = result.stderr.replace(str(folder), "$DIR")
    assert "Traceback" not in err
    if os.environ.get("PYCOMPOSE_REGOLD"):
        (folder / "expected.out").write_text(out)
        if err:
            (folder / "expected.err").write_text(err)
        else:
            (folder / "expected.err").unlink(missing_ok=True)
    assert result.returncode == 0, err
    assert out == (folder / "expected.out").read_text()
    expected_err = folder / "expected.err"
    assert err == (expected_err.read_text() if expected_err.is_file() else "")
