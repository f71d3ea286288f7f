"""A plan: a DAG of operations, each exactly one Engine API call (or one wait).

An operation names what it acts on (`target`: a container id, a network or
volume name) or, for a container this same plan creates, a `Ref` to the
operation that creates it; the scheduler puts the id in once it exists.
Operations are added in an order where every dependency comes first, so the
insertion order is itself a valid sequential order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any

from compose.plan.kinds import Kind
from compose.plan.payloads import PAYLOADS, Nothing, Payload

__all__ = ["Handle", "Kind", "Operation", "Payload", "Plan", "Ref", "Resource", "refs_in", "resolve", "wrap"]


@dataclass(frozen=True)
class Resource:
    """What an operation acts on, as the user knows it: its type and name."""

    type: str  # Container, Network, Volume
    name: str

    @classmethod
    def container(cls, name: str) -> Resource:
        return cls("Container", name)

    @classmethod
    def network(cls, name: str) -> Resource:
        return cls("Network", name)

    @classmethod
    def volume(cls, name: str) -> Resource:
        return cls("Volume", name)

    def __str__(self) -> str:
        """As progress shows it (Docker Compose's words): `Container p-web-1`, `Volume "p_data"`."""
        return f'{self.type} "{self.name}"' if self.type == "Volume" else f"{self.type} {self.name}"


@dataclass(frozen=True)
class Ref:
    """The id of the container created by operation `op`, with text around it (`container:<id>`)."""

    op: str
    prefix: str = ""
    suffix: str = ""

    def around(self, prefix: str = "", suffix: str = "") -> Ref:
        return Ref(self.op, prefix + self.prefix, self.suffix + suffix)


Handle = str | Ref  # an existing container's id, or the container a plan operation creates


def wrap(handle: Handle, prefix: str = "", suffix: str = "") -> str | Ref:
    return handle.around(prefix, suffix) if isinstance(handle, Ref) else f"{prefix}{handle}{suffix}"


def _payload_fields(value: Any) -> Iterator[tuple[str, Any]]:
    for f in fields(value):
        yield f.name, getattr(value, f.name)


def refs_in(value: Any) -> Iterator[Ref]:
    if isinstance(value, Ref):
        yield value
    elif is_dataclass(value) and not isinstance(value, type):
        for _, item in _payload_fields(value):
            yield from refs_in(item)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from refs_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from refs_in(item)


def resolve(value: Any, results: Mapping[str, str]) -> Any:
    """`value` with every Ref replaced by the id its operation produced."""
    if isinstance(value, Ref):
        return f"{value.prefix}{results[value.op]}{value.suffix}"
    if is_dataclass(value) and not isinstance(value, type):
        changed = {name: resolve(item, results) for name, item in _payload_fields(value)}
        return replace(value, **changed)
    if isinstance(value, Mapping):
        return {k: resolve(v, results) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(v, results) for v in value]
    return value


@dataclass(frozen=True, eq=False)
class Operation:
    id: str
    kind: Kind
    target: Handle
    subject: Resource  # what it acts on, by type and name
    payload: Payload = field(default_factory=Nothing)
    depends_on: frozenset[str] = frozenset()
    cause: str = ""  # why the plan has it (for --dry-run and tests)
    # Progress words (working, done); None leaves the kind's default, "" says nothing.
    progress: tuple[str | None, str | None] = (None, None)
    group: str | None = None  # operations shown as one step (a recreate): elapsed counts from the first

    @property
    def resource(self) -> str:
        """As progress shows it: `Container p-web-1`, `Network p_default`."""
        return str(self.subject)


class Plan:
    """Operations by id, in insertion (dependency) order."""

    def __init__(self) -> None:
        self._ops: dict[str, Operation] = {}
        self.warnings: list[str] = []  # for the user; the CLI prints them before running the plan
        self.unchanged: list[str] = []  # resources already as wanted, as progress shows them (as Running)

    def add(
        self,
        kind: Kind,
        target: Handle,
        resource: Resource,
        *,
        after: Iterable[str | None] = (),
        payload: Payload | None = None,
        cause: str = "",
        progress: tuple[str | None, str | None] = (None, None),
        group: str | None = None,
    ) -> str:
        """Add an operation and return its id (`kind:name`); it also depends on whatever its Refs point at."""
        wanted = PAYLOADS[kind]
        payload = wanted() if payload is None else payload
        if not isinstance(payload, wanted):
            raise TypeError(f"{kind} {resource}: payload {type(payload).__name__}, expected {wanted.__name__}")
        deps = {d for d in after if d is not None}
        deps |= {r.op for r in refs_in([target, payload])}
        missing = deps - self._ops.keys()
        if missing:
            raise ValueError(f"{kind} {resource}: unknown dependencies {sorted(missing)}")
        base = f"{kind}:{resource.name}"
        op_id, n = base, 1
        while op_id in self._ops:
            n += 1
            op_id = f"{base}#{n}"
        self._ops[op_id] = Operation(op_id, kind, target, resource, payload, frozenset(deps), cause, progress, group)
        return op_id

    def amend(self, op_id: str, payload: Payload) -> None:
        """Give an operation a payload of its own kind that holds no new Ref (its dependencies stay)."""
        op = self._ops[op_id]
        if type(payload) is not type(op.payload) or {r.op for r in refs_in(payload)} - op.depends_on:
            raise TypeError(f"{op_id}: cannot amend with {type(payload).__name__}")
        self._ops[op_id] = replace(op, payload=payload)

    def __getitem__(self, op_id: str) -> Operation:
        return self._ops[op_id]

    def __contains__(self, op_id: object) -> bool:
        return op_id in self._ops

    def __iter__(self) -> Iterator[Operation]:
        return iter(self._ops.values())

    def __len__(self) -> int:
        return len(self._ops)

    def __bool__(self) -> bool:
        return bool(self._ops)

    def of_kind(self, kind: Kind) -> list[Operation]:
        return [op for op in self._ops.values() if op.kind is kind]

    def find(self, kind: Kind, resource: str) -> Operation | None:
        """The first operation of `kind` on `resource` (`Container p-web-1`)."""
        return next((op for op in self._ops.values() if op.kind is kind and op.resource == resource), None)

    def dependents(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {op_id: [] for op_id in self._ops}
        for op in self._ops.values():
            for dep in sorted(op.depends_on):
                out[dep].append(op.id)
        return out

    def ancestors(self, op_id: str) -> set[str]:
        """Everything that must finish before `op_id` starts."""
        seen: set[str] = set()
        stack = list(self._ops[op_id].depends_on)
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(self._ops[current].depends_on)
        return seen

    def precedes(self, first: str, second: str) -> bool:
        return first in self.ancestors(second)

    def describe(self) -> list[str]:
        """One line per operation, for `--dry-run` and debugging."""
        lines = []
        for op in self._ops.values():
            deps = f" after {', '.join(sorted(op.depends_on))}" if op.depends_on else ""
            why = f" ({op.cause})" if op.cause else ""
            lines.append(f"{op.id}{why}{deps}")
        return lines
