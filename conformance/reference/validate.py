"""Request validation: the 400s a real endpoint gives before any stream starts.

The explicit checks come first because they name the offending parameter (OpenAI's error
``param``); the shared request schema then catches every other shape error.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from ..schemas import get_schema

__all__ = ["MAX_LENGTH", "RequestError", "validate_request"]

ROLES = ("system", "developer", "user", "assistant", "tool")
MAX_LENGTH = 100_000  # x_length: long enough for benchmarks, bounded so one request cannot run for ever
MAX_CHOICES = 4
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class RequestError(Exception):
    """A pre-stream error: becomes a non-2xx JSON answer."""

    def __init__(self, status: int, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.param = status, code, message, param


def _bad(param: str | None, message: str) -> RequestError:
    return RequestError(400, "invalid_request", message, param)


def _is_int(value: Any) -> bool:
    """An integer as JSON Schema counts it: 1 and 1.0, not 1.5 or true."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and float(value).is_integer()


def _check_int(req: dict[str, Any], key: str, lo: int, hi: int | None = None) -> None:
    value = req.get(key)
    if value is None:
        return
    if not _is_int(value) or value < lo or (hi is not None and value > hi):
        bounds = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise _bad(key, f"{key} must be an integer {bounds} (received {value!r}).")


def _check_tools(req: dict[str, Any]) -> None:
    tools = req.get("tools")
    if tools is None:
        return
    if not isinstance(tools, list):
        raise _bad("tools", "tools must be an array of function tools.")
    names = set()
    for i, tool in enumerate(tools):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(fn, dict):
            raise _bad(f"tools[{i}]", f'tools[{i}] must be {{"type": "function", "function": {{...}}}}.')
        if not isinstance(fn.get("name"), str) or not _TOOL_NAME.match(fn["name"]):
            raise _bad(f"tools[{i}].function.name", f"tools[{i}].function.name must match {_TOOL_NAME.pattern}.")
        if fn.get("parameters") is not None and not isinstance(fn["parameters"], dict):
            raise _bad(f"tools[{i}].function.parameters", f"tools[{i}].function.parameters must be a JSON Schema object.")
        names.add(fn["name"])
    choice = req.get("tool_choice")
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") if isinstance(choice.get("function"), dict) else None
        if name not in names:
            raise _bad("tool_choice", f"tool_choice names {name!r}, which is not one of the request's tools.")


def validate_request(body: bytes) -> dict[str, Any]:
    """The parsed request, or a RequestError saying which parameter is wrong."""
    try:
        req = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _bad(None, f"The body is not JSON ({exc}).") from None
    if not isinstance(req, dict):
        raise _bad(None, "The body must be a JSON object.")
    messages = req.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("messages", "messages must be a non-empty array.")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise _bad(f"messages[{i}].role", f"messages[{i}] needs a role, one of {', '.join(ROLES)}.")
    temperature = req.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0 <= temperature <= 2
    ):
        raise _bad("temperature", f"temperature must be a number between 0 and 2 (received {temperature!r}).")
    _check_int(req, "max_tokens", 1)
    _check_int(req, "max_completion_tokens", 1)
    _check_int(req, "n", 1, MAX_CHOICES)
    _check_int(req, "x_length", 1, MAX_LENGTH)
    _check_tools(req)
    schema = get_schema("request.json")
    if not schema.is_valid(req):
        raise _bad(None, f"The request does not match the chat-completions schema: {schema.first_error(req)}")
    return req
