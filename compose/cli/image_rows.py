"""`docker images`/`history` rows, removal lines, prune's report, progress messages (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from compose.cli import tables

NONE = "<none>"

IMAGES = tables.Listing(
    default="table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}",
    headers={"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID", "Digest": "DIGEST",
             "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE", "VirtualSize": "VIRTUAL SIZE",
             "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE", "Containers": "CONTAINERS"},
)
IMAGES_WITH_DIGESTS = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
HISTORY = tables.Listing(
    default="table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}",
    headers={"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
             "Size": "SIZE", "Comment": "COMMENT"},
)


def split_reference(ref: str) -> tuple[str, str | None, str | None]:
    """`repo[:tag][@digest]` -> (repo, tag, digest); a port's colon is not a tag."""
    name, _, digest = ref.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :], digest or None
    return name, None, digest or None


def image_rows(images: Sequence[Mapping[str, Any]], digests: bool = False, no_trunc: bool = False,
               now: float | None = None) -> list[dict[str, str]]:
    """`docker images` rows: one per tag (or per digest with `--digests`), `<none>` for dangling."""
    rows = []
    for summary in images:
        names: list[tuple[str, str, str]] = []
        by_repo: dict[str, list[str]] = {}
        for ref in summary.get("RepoDigests") or []:
            repo, _, digest = split_reference(ref)
            if digest:
                by_repo.setdefault(repo, []).append(digest)
        for ref in sorted(summary.get("RepoTags") or []):
            repo, tag, _ = split_reference(ref)
            if tag is None or ref == "<none>:<none>":
                continue
            repo_digests = by_repo.get(repo, []) if digests else []
            names += [(repo, tag, d) for d in repo_digests] or [(repo, tag, NONE)]
        tagged = {repo for repo, _, _ in names}
        for repo, found in sorted(by_repo.items()):
            if repo not in tagged:
                names += [(repo, NONE, d) for d in found] if digests else [(repo, NONE, NONE)]
        rows += [_image_row(summary, repo, tag, digest, no_trunc, now)
                 for repo, tag, digest in names or [(NONE, NONE, NONE)]]
    return rows


def _image_row(summary: Mapping[str, Any], repo: str, tag: str, digest: str, no_trunc: bool,
               now: float | None) -> dict[str, str]:
    image_id = str(summary.get("Id", ""))
    created = float(summary.get("Created") or 0)
    size = int(summary.get("Size") or 0)
    shared = int(summary.get("SharedSize", -1))
    containers = int(summary.get("Containers", -1))
    return {
        "ID": image_id if no_trunc else tables.short_id(image_id),
        "Repository": repo,
        "Tag": tag,
        "Digest": digest,
        "CreatedSince": tables.ago(created, now),
        "CreatedAt": tables.go_time(created),
        "Size": tables.human_size(size),
        "VirtualSize": tables.human_size(size, 4),
        "SharedSize": "N/A" if shared < 0 else tables.human_size(shared),
        "UniqueSize": "N/A" if shared < 0 else tables.human_size(size - shared),
        "Containers": "N/A" if containers < 0 else str(containers),
    }


def history_rows(entries: Sequence[Mapping[str, Any]], human: bool = True, no_trunc: bool = False,
                 now: float | None = None) -> list[dict[str, str]]:
    rows = []
    for entry in entries:
        entry_id = str(entry.get("Id") or "<missing>")
        created = float(entry.get("Created") or 0)
        created_by = str(entry.get("CreatedBy") or "").replace("\t", " ")
        size = int(entry.get("Size") or 0)
        rows.append({
            "ID": entry_id if no_trunc or entry_id == "<missing>" else tables.short_id(entry_id),
            "CreatedSince": tables.ago(created, now) if human else tables.rfc3339(created),
            "CreatedAt": tables.rfc3339(created),
            "CreatedBy": created_by if no_trunc else tables.ellipsis(created_by, 45),
            "Size": tables.human_size(size) if human else str(size),
            "Comment": str(entry.get("Comment") or ""),
        })
    return rows


def removal_lines(items: Sequence[Mapping[str, Any]], lower: bool = False) -> list[str]:
    """`Untagged: x` / `Deleted: sha256:…` (lower case in prune's report, as docker has it)."""
    out = []
    for item in items:
        for key in ("Untagged", "Deleted"):
            if item.get(key):
                out.append(f"{key.lower() if lower else key}: {item[key]}")
    return out


def prune_report(report: Mapping[str, Any]) -> str:
    deleted = removal_lines(report.get("ImagesDeleted") or [], lower=True)
    return tables.reclaimed_report("Deleted Images:", deleted, report.get("SpaceReclaimed"))


def message_text(message: Mapping[str, Any]) -> str:
    """One message of a progress stream as docker prints it without a terminal."""
    if "stream" in message:
        return str(message["stream"])
    if "status" in message:
        parts = [f"{message['id']}: " if message.get("id") else "", str(message["status"])]
        if message.get("progress"):
            parts.append(f" {message['progress']}")
        return "".join(parts) + "\n"
    return ""
