"""Manifests as YAML: one multi-document stream, or one file per object (`<name>-<kind>.yaml`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from compose.convert.types import ConvertError, Manifest


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _str)


def document(manifest: Manifest) -> str:
    body: Any = manifest.body
    return yaml.dump(body, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True,
                     width=1 << 30)


def stream(manifests: Iterable[Manifest]) -> str:
    return "".join(f"---\n{document(m)}" for m in manifests)


def write_dir(manifests: Iterable[Manifest], directory: Path) -> list[Path]:
    """Writes each manifest to its own file; returns the paths written."""
    if directory.exists() and not directory.is_dir():
        raise ConvertError(f"cannot write to {directory}: not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for manifest in manifests:
            path = directory / manifest.file_name()
            path.write_text(document(manifest), encoding="utf-8")
            written.append(path)
        return written
    except OSError as exc:
        raise ConvertError(f"cannot write {exc.filename or directory}: {exc.strerror}") from None
