"""A project loaded from text in a folder, for the build tests."""

from __future__ import annotations

from pathlib import Path

from compose.loader.project import LoadOptions, load_project
from compose.model import Project


def project(folder: Path, text: str, environ: dict[str, str] | None = None) -> Project:
    (folder / "compose.yaml").write_text(text)
    return load_project(LoadOptions(working_dir=folder, files=(), project_name="p", project_directory=None,
                                    profiles=(), environ=environ or {})).project
