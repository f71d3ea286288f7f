"""An instruction's `--name=value` flags, checked as buildkit's BFlags: unknown names (with a
"did you mean" hint), duplicates, missing values, booleans."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from runtime.dockerfile.errors import suggest


@dataclass
class Flags:
    """Declare with `string`/`boolean`/`strings`, then `parse(args)`; ValueError on bad flags."""

    kinds: dict[str, str] = field(default_factory=dict)  # name -> "bool" | "string" | "strings"
    values: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    def string(self, name: str, default: str = "") -> Flags:
        self.kinds[name] = "string"
        self.values[name] = default
        return self

    def boolean(self, name: str) -> Flags:
        self.kinds[name] = "bool"
        self.values[name] = "false"
        return self

    def strings(self, name: str) -> Flags:
        self.kinds[name] = "strings"
        self.lists[name] = []
        return self

    def parse(self, args: Sequence[str]) -> Flags:
        for arg in args:
            if arg == "--":
                break
            if not arg.startswith("--"):
                raise ValueError(f"arg should start with -- : {arg}")
            flag, has_value, value = arg.partition("=")
            name = flag[2:]
            kind = self.kinds.get(name)
            if kind is None:
                raise ValueError(f"unknown flag: {flag}{suggest(name, self.kinds, case_sensitive=True)}")
            if name in self.used and kind != "strings":
                raise ValueError(f"duplicate flag specified: {flag}")
            self.used.add(name)
            if kind == "bool":
                if has_value and not value:
                    raise ValueError(f"missing a value on flag: {flag}")
                if value.lower() not in ("true", "false", ""):
                    raise ValueError(f"expecting boolean value for flag {flag}, not: {value}")
                self.values[name] = "false" if value.lower() == "false" else "true"
            elif not has_value:
                raise ValueError(f"missing a value on flag: {flag}")
            elif kind == "string":
                self.values[name] = value
            else:
                self.lists[name].append(value)
        return self

    def get(self, name: str) -> str:
        return self.values[name]

    def true(self, name: str) -> bool:
        return self.values[name] == "true"
