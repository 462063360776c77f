"""Small helpers the rule modules share."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
from referencing.exceptions import Unresolvable

from ..stream import as_index


def is_int(value: Any) -> bool:
    """An integer as JSON Schema counts it: 1 and 1.0 are, 1.5 and True are not."""
    return as_index(value) is not None


def show(value: Any, limit: int = 80) -> str:
    """A value as the finding text shows it: repr, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def user_schema_error(schema: dict[str, Any], value: Any) -> str | None:
    """Validate against a schema the *request* supplied (tool parameters, response format).

    Such a schema is untrusted input too: when it is itself broken (invalid, unresolvable
    references), there is nothing to judge against, and None is returned.
    """
    try:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        cls.check_schema(schema)
        best = jsonschema.exceptions.best_match(cls(schema).iter_errors(value))
    except (jsonschema.exceptions.SchemaError, Unresolvable, re.error, RecursionError, OverflowError, ValueError):
        return None
    return None if best is None else f"{best.json_path}: {best.message}"
