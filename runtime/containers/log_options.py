"""A container's LogConfig as dockerd reads it at create: the driver, its options, their limits.

Drivers: `json-file` (the default), `local` (dockerd's local driver: protobuf-framed entries,
rotated at 20 MB over 5 files and compressed unless told otherwise) and `none`. Any other
driver is refused at create with dockerd's 400 (`logger: no log driver named 'x' is
registered`), an option a driver does not know with that driver's message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runtime.errors import bad_request

LOG_DRIVERS = ("json-file", "local", "none")
COMMON_OPTS = ("labels", "labels-regex", "env", "env-regex", "tag")
JSON_FILE_OPTS = ("max-size", "max-file", "compress", *COMMON_OPTS)
LOCAL_OPTS = JSON_FILE_OPTS
LOCAL_MAX_SIZE = 20 * 1024 * 1024
LOCAL_MAX_FILE = 5
_BOOLS = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
          "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}


@dataclass(frozen=True)
class LogOptions:
    driver: str = "json-file"
    max_size: int = 0  # bytes; 0: never rotated
    max_file: int = 1
    compress: bool = False


def log_options(log_config: Mapping[str, Any]) -> LogOptions:
    driver = str(log_config.get("Type") or "json-file")
    opts = {str(k): str(v) for k, v in dict(log_config.get("Config") or {}).items()}
    mode = opts.pop("mode", "")
    if mode not in ("", "blocking", "non-blocking"):
        raise bad_request(f"logger: logging mode not supported: {mode}")
    opts.pop("max-buffer-size", None)
    if driver not in LOG_DRIVERS:
        raise bad_request(f"logger: no log driver named '{driver}' is registered")
    if driver == "none":
        return LogOptions("none")
    for key in opts:
        if key not in JSON_FILE_OPTS:
            raise bad_request(f"unknown log opt '{key}' for json-file log driver" if driver == "json-file"
                              else f"unknown log opt '{key}' for log driver local")
    return _local(opts) if driver == "local" else _json_file(opts)


def _json_file(opts: dict[str, str]) -> LogOptions:
    max_size = parse_size(opts["max-size"]) if "max-size" in opts else 0
    if "max-size" in opts and max_size <= 0:
        raise bad_request("max-size must be a positive number")
    max_file = _count(opts.get("max-file"), 1)
    if max_file < 1:
        raise bad_request("max-file cannot be less than 1")
    if max_file > 1 and not max_size:
        raise bad_request("max-file cannot be set without max-size")
    compress = _bool(opts["compress"]) if "compress" in opts else False
    if compress and (max_file == 1 or not max_size):
        raise bad_request("compress cannot be true when max-file is less than 2 or max-size is not set")
    return LogOptions("json-file", max_size, max_file, compress)


def _local(opts: dict[str, str]) -> LogOptions:
    max_size = parse_size(opts["max-size"]) if "max-size" in opts else LOCAL_MAX_SIZE
    max_file = _count(opts.get("max-file"), LOCAL_MAX_FILE)
    if max_file < 0:
        raise bad_request("max-file must not be negative")
    compress = _bool(opts["compress"]) if "compress" in opts else True
    if compress and max_file <= 1:
        raise bad_request("compression cannot be enabled when max file count is 1")
    return LogOptions("local", max_size, max(max_file, 1), compress)


def _count(text: str | None, default: int) -> int:
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise bad_request(f"invalid value for max-file: {text}") from None


def _bool(text: str) -> bool:
    if text not in _BOOLS:
        raise bad_request(f'strconv.ParseBool: parsing "{text}": invalid syntax')
    return _BOOLS[text]


def parse_size(text: str) -> int:
    """`10m`, `1.5k`, `100` (decimal units, as Docker's units.FromHumanSize reads them)."""
    units = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
             "t": 10**12, "tb": 10**12}
    value = text.strip().lower()
    number = value.rstrip("kmgtb")
    unit = value[len(number):]
    try:
        size = float(number) * units[unit]
    except (ValueError, KeyError):
        raise bad_request(f"invalid size: '{text}'") from None
    if size < 0:
        raise bad_request(f"invalid size: '{text}'")
    return int(size)


def log_attrs(log_config: Mapping[str, Any], labels: Mapping[str, str], env: Sequence[str],
              names: Mapping[str, str]) -> dict[str, str]:
    """The extra attributes every entry carries (dockerd's ExtraAttributes and `tag`): the labels and
    environment variables the options name or match, and the rendered tag. `names` gives the tag's
    fields (ID, FullID, Name, ImageID, ImageFullID, ImageName, DaemonName)."""
    opts = {str(k): str(v) for k, v in dict(log_config.get("Config") or {}).items()}
    attrs: dict[str, str] = {}
    for key in filter(None, opts.get("labels", "").split(",")):
        if key in labels:
            attrs[key] = labels[key]
    if opts.get("labels-regex"):
        pattern = _regex(opts["labels-regex"])
        attrs.update({k: v for k, v in labels.items() if pattern.search(k)})
    environment = dict(item.split("=", 1) for item in env if "=" in item)
    for key in filter(None, opts.get("env", "").split(",")):
        if key in environment:
            attrs[key] = environment[key]
    if opts.get("env-regex"):
        pattern = _regex(opts["env-regex"])
        attrs.update({k: v for k, v in environment.items() if pattern.search(k)})
    if opts.get("tag"):
        attrs["tag"] = render_tag(opts["tag"], names)
    return attrs


def render_tag(template: str, names: Mapping[str, str]) -> str:
    """A log tag template: `{{.Name}}`, `{{.ID}}`... (the fields dockerd's tag offers)."""
    def field(m: re.Match[str]) -> str:
        if m.group(1) not in names:
            raise bad_request(f'template: log-tag:1: can\'t evaluate field {m.group(1)}')
        return names[m.group(1)]

    text = _TAG_FIELD.sub(field, template)
    if "{{" in text:
        raise bad_request(f"log tag template {template!r} is not supported: use fields such as {{{{.Name}}}}")
    return text


_TAG_FIELD = re.compile(r"\{\{\s*\.(\w+)\s*\}\}")


def _regex(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise bad_request(f"error parsing regexp: {exc}") from None


def tag_names(container_id: str, name: str, image_id: str, image_name: str) -> dict[str, str]:
    bare = image_id.removeprefix("sha256:")
    return {"ID": container_id[:12], "FullID": container_id, "Name": name.lstrip("/"), "ImageID": bare[:12],
            "ImageFullID": image_id, "ImageName": image_name, "DaemonName": "docker"}
