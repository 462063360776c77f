"""Small helpers the rule modules share."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
from referencing.exceptions import Unresolvable

from ..stream import Stream, as_index


def is_int(value: Any) -> bool:
    """An integer as JSON Schema counts it: 1 and 1.0 are, 1.5 and True are not."""
    return as_index(value) is not None


def show(value: Any, limit: int = 80) -> str:
    """A value as the finding text shows it: repr, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def needs_request(stream: Stream) -> str | None:
    return None if stream.exchange.request is not None else "needs the request (no sidecar with 'request')"


def request_tools(stream: Stream) -> dict[str, dict[str, Any]]:
    """Declared tool name -> its function object."""
    out: dict[str, dict[str, Any]] = {}
    tools = (stream.exchange.request or {}).get("tools")
    if isinstance(tools, list):
        for tool in tools:
            fn = tool.get("function") if isinstance(tool, dict) else None
            if isinstance(fn, dict) and isinstance(fn.get("name"), str):
                out[fn["name"]] = fn
    return out


def has_tool_calls(stream: Stream) -> bool:
    """Any delta.tool_calls entry at all, even one that is not an object (counted once, by the assembler)."""
    return any(msg.tool_entries for msg in stream.message.values())


def no_tool_calls(stream: Stream) -> str | None:
    return None if has_tool_calls(stream) else "the stream has no tool calls"


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
