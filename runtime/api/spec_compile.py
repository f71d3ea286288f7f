"""The Engine API spec (swagger 2.0) -> the type table the API decodes requests with.

`compile_spec` walks the spec's operations and, for each, its query
parameters and its JSON body schema, resolving `$ref` and `allOf` into
struct descriptors; `runtime/api/go_types.py` (the Go side: struct names as
Go's error messages print them, integer widths, fields with custom
unmarshalers) is laid over it. The result is plain JSON, committed as
`runtime/api/spec_types.json` and loaded once when the engine starts:

    python -m runtime.api.spec_compile [SPEC] [OUT]

Descriptors (`k` is the kind): bool, string (`name`: a name the engine
makes a file or object of), int (`go`: the Go type, `base`: its range), float,
any, strslice (a string or a list of strings), slice/array/map (`of`), ref
(`to` a struct in `types`), struct (`name`, `go`, `fields`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from runtime.api import go_types
from runtime.api.decode import pattern_key

SPEC_NAME = "docker-engine-api-v1.45.yaml"
OUT = Path(__file__).with_name("spec_types.json")
_INT_FORMATS = {"int64": "int64", "int32": "int32", "uint64": "uint64", "uint32": "uint32", "uint16": "uint16",
                "uint8": "uint8", "int8": "int8", "int16": "int16"}

Desc = dict[str, Any]


class Compiler:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.types: dict[str, Desc] = {}

    def definition(self, ref: str) -> Desc:
        name = ref.rsplit("/", 1)[-1]
        schema = self.spec["definitions"][name]
        if not _is_struct(self, schema):
            return self.schema(schema, name)
        if name not in self.types:
            self.types[name] = {}  # a placeholder while its fields compile (recursive types)
            self.types[name] = self.struct(schema, name, schema.get("x-go-name") or schema.get("title"))
        return {"k": "ref", "to": name}

    def schema(self, schema: dict[str, Any], where: str) -> Desc:
        """The descriptor of `schema`; `where` names it for the Go overlay (`Struct.Field`)."""
        if "$ref" in schema:
            return self.definition(schema["$ref"])
        if "allOf" in schema:
            parts = [self.resolve(part) for part in schema["allOf"]]
            if all(_is_struct(self, p) for p in parts):
                return self.struct(schema, where, schema.get("title"))
            return self.schema(parts[0], where)
        kind = schema.get("type")
        if kind == "boolean":
            return {"k": "bool"}
        if kind == "string":
            return {"k": "string"}
        if kind == "integer":
            base = _INT_FORMATS.get(schema.get("format", ""), "int")
            return {"k": "int", "go": base, "base": base}
        if kind == "number":
            return {"k": "float", "go": "float64"}
        if kind == "array":
            items = self.schema(schema.get("items") or {}, where)
            return {"k": "slice", "go": "[]" + go_name(self, items), "of": items}
        if kind == "object" or "properties" in schema or "additionalProperties" in schema:
            if "properties" in schema:
                return self.struct(schema, where, schema.get("title"))
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                of = self.schema(extra, where)
                return {"k": "map", "go": "map[string]" + go_name(self, of), "of": of}
            if extra is None:
                return {"k": "struct", "name": "", "go": "struct {}", "fields": []}
            return {"k": "map", "go": "map[string]interface {}", "of": {"k": "any"}}
        return {"k": "any"}

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.spec["definitions"][schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def struct(self, schema: dict[str, Any], where: str, title: str | None = None) -> Desc:
        short, qualified = go_types.struct_name(where, title)
        fields = []
        for field, sub in _merged(self, [schema]).items():
            path = f"{short}.{field}"
            fields.append([field, go_types.overlay(path, self.schema(sub, path))])
        fields.extend([name, dict(desc)] for name, desc in go_types.EXTRA_FIELDS.get(short, ()))
        return {"k": "struct", "name": short, "go": qualified, "fields": fields}

    def operation(self, op: dict[str, Any], op_id: str) -> Desc:
        query: dict[str, str] = {}
        body: Desc | None = None
        for param in op.get("parameters") or ():
            place, name = param.get("in"), param.get("name")
            if place == "query":
                query[name] = go_types.query_kind(op_id, name, param)
            elif place == "body":
                schema = self.resolve(param.get("schema") or {})
                if schema.get("type", "object") == "object" or "allOf" in schema:
                    body = self.schema(param["schema"], go_types.BODY_PREFIX + op_id)
        out: Desc = {"id": op_id, "query": query}
        if body is not None:
            out["body"] = body
        return out


def _is_struct(compiler: Compiler, schema: dict[str, Any]) -> bool:
    schema = compiler.resolve(schema)
    if "allOf" in schema:
        return all(_is_struct(compiler, p) for p in schema["allOf"])
    return "properties" in schema


def _merged(compiler: Compiler, parts: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in parts:
        part = compiler.resolve(part)
        if "allOf" in part:
            out.update(_merged(compiler, list(part["allOf"])))
        else:
            out.update(part.get("properties") or {})
    return out


def go_name(compiler: Compiler, desc: Desc) -> str:
    if desc["k"] == "ref":
        return str(compiler.types.get(desc["to"], {}).get("go") or desc["to"])
    return str(desc.get("go") or {"bool": "bool", "string": "string", "any": "interface {}"}.get(desc["k"], "string"))


def compile_spec(spec: dict[str, Any]) -> dict[str, Any]:
    compiler = Compiler(spec)
    operations = {}
    for path, methods in sorted(spec["paths"].items()):
        for method, op in sorted(methods.items()):
            if isinstance(op, dict) and "operationId" in op:
                operations[pattern_key(method, path)] = compiler.operation(op, op["operationId"])
    return {"source": SPEC_NAME, "operations": operations,
            "types": dict(sorted(compiler.types.items()))}


def find_spec() -> Path | None:
    """The spec in `shared/reference/` beside the checkout or one of its parents (the project's layout)."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "reference" / SPEC_NAME
        if candidate.is_file():
            return candidate
    return None


def load_spec(path: Path) -> dict[str, Any]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open() as f:
        spec: dict[str, Any] = yaml.load(f, Loader=loader)
    return spec


def render(table: dict[str, Any]) -> str:
    """JSON with one operation or type per line: small diffs when the spec or the overlay changes."""
    lines = ["{", f'"source": {json.dumps(table["source"])},']
    for section in ("operations", "types"):
        entries = [f"{json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in table[section].items()]
        lines += [f'"{section}": {{', ",\n".join(entries), "}," if section == "operations" else "}"]
    return "\n".join([*lines, "}"]) + "\n"


def main(argv: list[str]) -> int:
    spec_path = Path(argv[0]) if argv else find_spec()
    if spec_path is None:
        print(f"{SPEC_NAME} not found: give its path", file=sys.stderr)
        return 2
    out = Path(argv[1]) if len(argv) > 1 else OUT
    out.write_text(render(compile_spec(load_spec(spec_path))))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
