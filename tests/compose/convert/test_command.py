"""`pycompose convert` as a user runs it: files per object, the stream on stdout, warnings, errors."""

from __future__ import annotations

from pathlib import Path

from tests.compose.cli.runner import run_pycompose
from tests.compose.convert.kube import documents, strict_errors

PROJECT = """\
services:
  web:
    image: nginx:1.27
    ports: ["8080:80"]
    volumes: [html:/usr/share/nginx/html]
    devices: ["/dev/fuse"]
  cache:
    image: redis:7
volumes:
  html: {}
"""


def _project(tmp_path: Path, text: str = PROJECT) -> Path:
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "compose.yaml").write_text(text)
    return folder


def test_out_dir_gets_one_file_per_object(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    result = run_pycompose(["convert", "-o", "k8s"], folder)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    names = sorted(p.name for p in (folder / "k8s").iterdir())
    assert names == ["cache-deployment.yaml", "html-persistentvolumeclaim.yaml", "web-deployment.yaml",
                     "web-service.yaml"]
    for name in names:
        text = (folder / "k8s" / name).read_text()
        (doc,) = documents(text)
        assert f"{doc['metadata']['name']}-{doc['kind'].lower()}.yaml" == name
        assert strict_errors(text) == []


def test_files_hold_what_the_stream_holds(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    assert run_pycompose(["convert", "-o", "k8s"], folder).returncode == 0
    stream = run_pycompose(["convert", "-o", "-"], folder).stdout
    from_files = [d for p in sorted((folder / "k8s").iterdir()) for d in documents(p.read_text())]
    key = lambda d: (d["kind"], d["metadata"]["name"])  # noqa: E731
    assert sorted(documents(stream), key=key) == sorted(from_files, key=key)


def test_default_out_is_the_current_directory(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    assert run_pycompose(["convert", "--format", "kubernetes"], folder).returncode == 0
    assert (folder / "web-service.yaml").is_file()


def test_output_is_deterministic_whatever_the_order_of_the_file(tmp_path: Path) -> None:
    first = run_pycompose(["convert", "-o", "-"], _project(tmp_path)).stdout
    reordered = PROJECT.replace("  cache:\n    image: redis:7\n", "")
    reordered = reordered.replace("services:\n", "services:\n  cache:\n    image: redis:7\n")
    other = tmp_path / "other"
    other.mkdir()
    (other / "compose.yaml").write_text(reordered)
    # Same project name, so same labels: only the order of the source differs.
    again = run_pycompose(["-p", "proj", "convert", "-o", "-"], other).stdout
    assert first == again
    assert first == run_pycompose(["convert", "-o", "-"], tmp_path / "proj").stdout


def test_what_is_not_converted_is_warned_on_stderr(tmp_path: Path) -> None:
    result = run_pycompose(["convert", "-o", "-"], _project(tmp_path))
    assert result.returncode == 0
    assert "WARN[0000] web: devices: not converted\n" in result.stderr


def test_an_out_path_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    (folder / "taken").write_text("")
    result = run_pycompose(["convert", "-o", "taken"], folder)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr == "cannot write to taken: not a directory\n"


def test_two_services_with_one_kubernetes_name_is_one_line(tmp_path: Path) -> None:
    folder = _project(tmp_path, "services:\n  a_b: {image: x}\n  a-b: {image: x}\n")
    result = run_pycompose(["convert", "-o", "-"], folder)
    assert result.returncode == 1
    assert result.stderr == ("two Deployment objects would be named a-b: rename a service, volume, config or "
                             "secret\n")


def test_an_unknown_format_is_refused(tmp_path: Path) -> None:
    result = run_pycompose(["convert", "--format", "nomad"], _project(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "'nomad' is not 'kubernetes'" in result.stderr


def test_a_bad_compose_file_is_one_line(tmp_path: Path) -> None:
    result = run_pycompose(["convert", "-o", "-"], _project(tmp_path, "services:\n  web: {image: [1]}\n"))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
