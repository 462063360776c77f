"""The JSON Schemas of ``schemas/``, loaded and compiled once.

The schemas are the single source of field shapes. Validating every chunk with jsonschema
would cost ~160 us a chunk, 25 times the cost of decoding it, so the pass/fail decision uses
a compiled validator (jsonschema-rs, ~1 us), and jsonschema, which writes the better
messages (with JSON paths), runs only on the few instances that fail.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

__all__ = ["SCHEMA_BASE", "Schema", "all_schemas", "get_schema"]

SCHEMA_BASE = "https://sse-conformance.dev/schemas/"

try:  # the compiled fast path; jsonschema alone still gives the same verdicts, slower
    import jsonschema_rs

    _COMPILED = True  # a flag, not jsonschema_rs = None: the module keeps its types for mypy
except ImportError:  # pragma: no cover - exercised only where the wheel is unavailable
    _COMPILED = False


def _schema_dir() -> Path:
    """The copy inside an installed wheel, else schemas/ of the source checkout (editable install)."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "_schemas", package.parent / "schemas"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"no schemas/ beside {package}: the installation is incomplete")


@cache
def all_schemas() -> dict[str, dict[str, Any]]:
    """Every schema by file name."""
    out = {}
    for path in sorted(_schema_dir().glob("*.json")):
        out[path.name] = json.loads(path.read_text(encoding="utf-8"))
    return out


@cache
def _registry() -> Registry:
    return Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in all_schemas().values()
    )


class Schema:
    """One schema: ``is_valid`` on the hot path, ``errors`` for the messages."""

    def __init__(self, name: str) -> None:
        schemas = all_schemas()
        if name not in schemas:
            raise KeyError(f"no schema named {name!r} in {_schema_dir()}")
        self.name = name
        self.schema = schemas[name]
        self._slow = jsonschema.Draft202012Validator(self.schema, registry=_registry())
        if _COMPILED:
            rs_registry = jsonschema_rs.Registry([(s["$id"], s) for s in schemas.values()])
            self.is_valid = jsonschema_rs.validator_for(self.schema, registry=rs_registry).is_valid
        else:  # pragma: no cover
            self.is_valid = self._slow.is_valid

    def errors(self, instance: Any) -> Iterator[jsonschema.ValidationError]:
        """Detailed errors, most specific first within each branch."""
        yield from sorted(self._slow.iter_errors(instance), key=lambda e: list(e.absolute_path))

    def first_error(self, instance: Any) -> str | None:
        """One line: where and what, e.g. ``$.choices[0].delta.content: [..] is not of type 'string'``."""
        best = jsonschema.exceptions.best_match(self._slow.iter_errors(instance))
        if best is None:
            return None
        message = best.message
        if best.validator in ("const", "enum", "required", "minItems", "minimum"):
            shown = repr(best.instance)
            message += f" (received {shown if len(shown) <= 60 else shown[:57] + '...'})"
        return f"{best.json_path}: {message}"


@cache
def get_schema(name: str) -> Schema:
    return Schema(name)
