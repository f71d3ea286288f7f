"""The classic builder's stream: one JSON object per line, as dockerd's `POST /build` writes it (pure).

Every line the builder prints is a `{"stream": "<text>\\n"}` message; the image ID also goes out
as `{"aux": {"ID": "sha256:…"}}` (what `docker build -q` and docker-py read); a failure once the
stream began is `{"errorDetail": {"code": N, "message": …}, "error": …}`.
"""

from __future__ import annotations

from typing import Any

Message = dict[str, Any]


def short(image_or_container_id: str) -> str:
    """Docker's 12-hex short form of an image ("sha256:…") or container ID."""
    return image_or_container_id.removeprefix("sha256:")[:12]


def stream(text: str) -> Message:
    return {"stream": text if text.endswith("\n") else text + "\n"}


def raw(text: str) -> Message:
    """Output of a RUN step, passed on as it came."""
    return {"stream": text}


def step(number: int, total: int, original: str) -> Message:
    return stream(f"Step {number}/{total} : {original}")


def image(image_id: str) -> Message:
    return stream(f" ---> {short(image_id)}")


def using_cache() -> Message:
    return stream(" ---> Using cache")


def running_in(container_id: str) -> Message:
    return stream(f" ---> Running in {short(container_id)}")


def removing(container_id: str) -> Message:
    return stream(f"Removing intermediate container {short(container_id)}")


def triggers(count: int) -> Message:
    return stream(f"# Executing {count} build {'trigger' if count == 1 else 'triggers'}...")


def unused_args(names: list[str]) -> Message:
    return stream(f"[Warning] One or more build-args [{' '.join(sorted(names))}] were not consumed")


def aux(image_id: str) -> Message:
    return {"aux": {"ID": image_id}}


def built(image_id: str) -> Message:
    return stream(f"Successfully built {short(image_id)}")


def tagged(name: str) -> Message:
    return stream(f"Successfully tagged {name}")


def error(message: str, code: int | None = None) -> Message:
    detail: dict[str, Any] = {"message": message}
    if code is not None:
        detail = {"code": code, "message": message}
    return {"errorDetail": detail, "error": message}
