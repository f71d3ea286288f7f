"""From global CLI options to loader options (shared by every project command)."""

from __future__ import annotations

import os
from pathlib import Path

from compose.cli.main import GlobalOptions
from compose.loader.project import LoadOptions


def load_options(opts: GlobalOptions, services: tuple[str, ...] = (), interpolate: bool = True,
                 profiles: tuple[str, ...] | None = None) -> LoadOptions:
    return LoadOptions(
        working_dir=Path.cwd(),
        files=opts.files,
        project_name=opts.project_name,
        project_directory=opts.project_directory,
        env_files=opts.env_files,
        profiles=opts.profiles if profiles is None else profiles,
        services=services,
        interpolate=interpolate,
        environ=dict(os.environ),
    )
