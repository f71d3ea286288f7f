"""`pycompose convert --format kubernetes -o -` of every example and of projects/every (every service
key kompose converts), compared with reviewed golden files and checked by kubernetes-validate in strict
mode for Kubernetes 1.30. golden/<case>.yaml is stdout, golden/<case>.err the warnings, with $DIR for
the project's folder. Set PYCOMPOSE_REGOLD=1 to rewrite them (then review the diff)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.compose.cli.runner import run_pycompose
from tests.compose.convert.kube import LATEST_VERSION, kubectl_dry_run, kubectl_missing, strict_errors

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
GOLDEN = HERE / "golden"
CASES = {
    **{f"example-{p.parent.name}": p.parent for p in sorted((ROOT / "examples").glob("*/compose.yaml"))},
    **{p.parent.name: p.parent for p in sorted((HERE / "projects").glob("*/compose.yaml"))},
}


def _convert(folder: Path) -> tuple[str, str]:
    result = run_pycompose(["convert", "--format", "kubernetes", "-o", "-"], folder)
    assert "Traceback" not in result.stderr
    assert result.returncode == 0, result.stderr
    return result.stdout.replace(str(folder), "$DIR"), result.stderr.replace(str(folder), "$DIR")


def test_every_example_has_a_case() -> None:
    assert {"example-web", "example-migrate", "every"} <= set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_convert_golden(case: str) -> None:
    out, err = _convert(CASES[case])
    expected_out, expected_err = GOLDEN / f"{case}.yaml", GOLDEN / f"{case}.err"
    if os.environ.get("PYCOMPOSE_REGOLD"):
        GOLDEN.mkdir(exist_ok=True)
        expected_out.write_text(out)
        expected_err.write_text(err)
    assert out == expected_out.read_text()
    assert err == expected_err.read_text()


@pytest.mark.parametrize("case", sorted(CASES))
def test_convert_is_valid_for_kubernetes_1_30_strict(case: str) -> None:
    out, _ = _convert(CASES[case])
    assert out.startswith("---\n")
    assert strict_errors(out) == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_convert_is_valid_for_the_newest_kubernetes_strict(case: str) -> None:
    assert strict_errors(_convert(CASES[case])[0], LATEST_VERSION) == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_kubectl_client_dry_run(case: str, tmp_path: Path) -> None:
    why = kubectl_missing()
    if why:
        pytest.skip(why)
    out, _ = _convert(CASES[case])
    path = tmp_path / "all.yaml"
    path.write_text(out)
    result = kubectl_dry_run(path)
    assert result.returncode == 0, result.stderr
