"""Checks of converted manifests: kubernetes-validate in strict mode against Kubernetes 1.30, and
`kubectl apply --dry-run=client` where kubectl and a cluster to ask are there."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml
from kubernetes_validate.utils import latest_version

KUBERNETES_VERSION = "1.30.0"
# "1.30 and later": the newest schemas kubernetes-validate bundles, too.
LATEST_VERSION = latest_version()


def documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def strict_errors(text: str, version: str = KUBERNETES_VERSION) -> list[str]:
    """One line per document the schemas of `version` refuse in strict mode (unknown fields included)."""
    out = []
    for doc in documents(text):
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            out.append(f"{doc.get('kind')} {doc.get('metadata', {}).get('name')}: {exc.message}")
    return out


def kubectl_missing() -> str | None:
    """Why `kubectl apply --dry-run=client` cannot run here (it needs a cluster's API discovery)."""
    if shutil.which("kubectl") is None:
        return "kubectl is not installed"
    probe = subprocess.run(["kubectl", "version", "--request-timeout=3s", "-o", "json"], capture_output=True,
                           text=True, timeout=30, check=False)
    if probe.returncode != 0:
        return "kubectl has no reachable cluster (client dry-run still asks the API server for its resources)"
    return None


def kubectl_dry_run(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kubectl", "apply", "--dry-run=client", "-f", str(path)], capture_output=True,
                          text=True, timeout=120, check=False)
