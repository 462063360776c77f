"""A value valid against a JSON Schema, for tool arguments and structured outputs.

Deterministic given the ``random.Random`` it is handed. It covers the keywords tool and
response schemas use in practice; what it cannot honour (``pattern``, ``not``,
``if``/``then``/``else``) it ignores, so such a schema may get a value it rejects.
"""

from __future__ import annotations

import copy
import json
import math
import random
import uuid
from typing import Any

__all__ = ["from_schema"]

# Plain ASCII words for strings: minLength and maxLength then count what a reader sees.
WORDS = (
    "river", "lantern", "quiet", "harbor", "amber", "signal", "meadow", "copper",
    "winter", "garden", "paper", "silver", "orbit", "thunder", "velvet", "canyon",
    "echo", "maple", "pixel", "cobalt", "ember", "glacier", "hollow", "island",
)

# Past this nesting depth the schema generator fills only required properties and stops
# following $ref, so a recursive schema (a tree of nodes) still yields a finite value.
MAX_DEPTH = 8
FORMATS = {
    "date-time": "2025-01-01T12:00:00Z",
    "date": "2025-01-01",
    "time": "12:00:00Z",
    "email": "someone@example.com",
    "uri": "https://example.com/reference",
    "url": "https://example.com/reference",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
}


def _resolve(root: dict[str, Any], ref: Any) -> Any:
    """A local ``#/...`` JSON pointer into the root schema; None for anything else."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        return None
    node: Any = root
    for part in filter(None, ref[1:].split("/")):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _merge(schema: dict[str, Any], others: list[Any]) -> dict[str, Any]:
    """Fold subschemas (allOf, or the chosen anyOf branch) into one: properties and required union."""
    out = dict(schema)
    for sub in others:
        if not isinstance(sub, dict):
            continue
        for key, value in sub.items():
            if key == "properties" and isinstance(out.get(key), dict) and isinstance(value, dict):
                out[key] = {**out[key], **value}
            elif key == "required" and isinstance(out.get(key), list) and isinstance(value, list):
                out[key] = out[key] + [r for r in value if r not in out[key]]
            else:
                out[key] = value
    return out


def _infer_type(schema: dict[str, Any]) -> str:
    declared = schema.get("type")
    if isinstance(declared, list):
        real = [t for t in declared if t != "null"]
        return str(real[0]) if real else "null"
    if isinstance(declared, str):
        return declared
    if any(k in schema for k in ("properties", "required", "additionalProperties")):
        return "object"
    if any(k in schema for k in ("items", "prefixItems", "minItems", "maxItems")):
        return "array"
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
        return "number"
    return "string"


def from_schema(schema: Any, rng: random.Random, root: Any = None, depth: int = 0) -> Any:
    """A value valid against ``schema`` for the keywords tool and response schemas use.

    Covered: type (and type lists), const, enum, properties/required, additionalProperties,
    items/prefixItems/minItems/maxItems/uniqueItems, minLength/maxLength, common formats,
    minimum/maximum (inclusive and exclusive), multipleOf, local $ref, allOf, anyOf/oneOf
    (the first branch). Not covered: pattern, not, if/then/else, dependent schemas.
    """
    root = schema if root is None else root
    if not isinstance(schema, dict):
        return None if schema is False else {}
    if "$ref" in schema and depth < MAX_DEPTH:
        target = _resolve(root, schema["$ref"])
        if isinstance(target, dict):
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            return from_schema(_merge(target, [rest]), rng, root, depth + 1)
    if "const" in schema:
        return copy.deepcopy(schema["const"])
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return copy.deepcopy(rng.choice(schema["enum"]))
    if isinstance(schema.get("allOf"), list):
        rest = {k: v for k, v in schema.items() if k != "allOf"}
        return from_schema(_merge(rest, schema["allOf"]), rng, root, depth + 1)
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            rest = {k: v for k, v in schema.items() if k != key}
            return from_schema(_merge(rest, [options[0]]), rng, root, depth + 1)
    kind = _infer_type(schema)
    if kind == "object":
        return _object(schema, rng, root, depth)
    if kind == "array":
        return _array(schema, rng, root, depth)
    if kind in ("integer", "number"):
        return _number(schema, rng, integer=kind == "integer")
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return _string(schema, rng)


def _kw(schema: dict[str, Any], key: str, default: int) -> int:
    """An integer keyword (minItems, maxLength...), or ``default`` when absent or malformed."""
    value = schema.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _object(schema: dict[str, Any], rng: random.Random, root: Any, depth: int) -> dict[str, Any]:
    props: dict[str, Any] = schema["properties"] if isinstance(schema.get("properties"), dict) else {}
    required = [r for r in schema.get("required") or [] if isinstance(r, str)]
    keys = required if depth >= MAX_DEPTH else list(props) + [r for r in required if r not in props]
    extra = schema.get("additionalProperties")
    out = {}
    for key in keys:
        sub = props.get(key, extra if isinstance(extra, dict) else {})
        out[key] = from_schema(sub, rng, root, depth + 1)
    n = 0
    while len(out) < _kw(schema, "minProperties", 0) and extra is not False:
        n += 1
        out.setdefault(f"extra_{n}", from_schema(extra if isinstance(extra, dict) else {}, rng, root, depth + 1))
    return out


def _array(schema: dict[str, Any], rng: random.Random, root: Any, depth: int) -> list[Any]:
    lo = _kw(schema, "minItems", 0)
    hi = _kw(schema, "maxItems", lo + 3)
    prefix: list[Any] = schema["prefixItems"] if isinstance(schema.get("prefixItems"), list) else []
    items = schema.get("items")
    if isinstance(items, list):  # draft 7 tuples: items is the prefix, additionalItems the rest
        prefix, items = items, schema.get("additionalItems")
    count = min(max(lo, len(prefix), 2), hi)
    if depth >= MAX_DEPTH:
        count = lo
    out: list[Any] = []
    seen: set[str] = set()
    for _ in range(count * 10):  # uniqueItems: draw again on a repeat, a bounded number of times
        if len(out) >= count:
            break
        sub = prefix[len(out)] if len(out) < len(prefix) else (items if items is not None else {})
        if sub is False:
            break
        value = from_schema(sub, rng, root, depth + 1)
        key = json.dumps(value, sort_keys=True)
        if schema.get("uniqueItems") and key in seen:
            continue
        seen.add(key)
        out.append(value)
    return out


def _number(schema: dict[str, Any], rng: random.Random, integer: bool) -> int | float:
    def num(key: str) -> float | None:
        value = schema.get(key)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    lo, hi = num("minimum"), num("maximum")
    xlo, xhi = num("exclusiveMinimum"), num("exclusiveMaximum")
    step = 1.0 if integer else 0.01
    if xlo is not None:
        lo = max(lo if lo is not None else -math.inf, xlo + step)
    if xhi is not None:
        hi = min(hi if hi is not None else math.inf, xhi - step)
    lo = hi - 100 if lo is None and hi is not None else (0.0 if lo is None else lo)
    hi = lo + 100 if hi is None else hi
    hi = max(hi, lo)
    multiple = num("multipleOf")
    if integer or multiple:
        m = multiple or 1.0
        k = rng.randint(math.ceil(lo / m), max(math.ceil(lo / m), math.floor(hi / m)))
        value = k * m
        return int(value) if integer or float(value).is_integer() else value
    value = round(rng.uniform(lo, hi), 2)
    return value if lo <= value <= hi else lo


def _string(schema: dict[str, Any], rng: random.Random) -> str:
    fmt = schema.get("format")
    if fmt == "uuid":
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if isinstance(fmt, str) and fmt in FORMATS:
        return FORMATS[fmt]
    text = " ".join(rng.choices(WORDS, k=rng.randint(1, 3)))
    while len(text) < _kw(schema, "minLength", 1):
        text += " " + rng.choice(WORDS)
    hi = _kw(schema, "maxLength", -1)
    return text[:hi] if hi >= 0 else text
