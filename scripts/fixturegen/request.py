"""Request bodies, tool declarations and schemas that several fixtures' sidecars carry.

Rules about tools, structured output and usage under openai judge the answer against the
request, so a sidecar's `request` is as much part of a fixture as its body.
"""

from __future__ import annotations

from typing import Any

from .streams import MODEL

MESSAGES = [{"role": "user", "content": "Say hello in a few words."}]

WEATHER_PARAMS = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "City and country"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["location"],
    "additionalProperties": False,
}
TIME_PARAMS = {
    "type": "object",
    "properties": {"timezone": {"type": "string"}},
    "required": ["timezone"],
    "additionalProperties": False,
}


def tool(name: str, params: dict[str, Any], description: str) -> dict[str, Any]:
    """A function tool declaration."""
    return {"type": "function", "function": {"name": name, "description": description, "parameters": params}}


WEATHER_TOOL = tool("get_weather", WEATHER_PARAMS, "Current weather for a location")
TIME_TOOL = tool("get_time", TIME_PARAMS, "Current local time in a time zone")


def request(**kw: Any) -> dict[str, Any]:
    """A streamed chat request: model, messages (MESSAGES unless given), stream, then `kw`."""
    r: dict[str, Any] = {"model": MODEL, "messages": kw.pop("messages", MESSAGES), "stream": True}
    r.update(kw)
    return r


def tool_request(*tools: dict[str, Any]) -> dict[str, Any]:
    """The weather question with these tools declared (get_weather alone by default)."""
    return request(
        messages=[{"role": "user", "content": "What's the weather in Paris?"}],
        tools=list(tools) or [WEATHER_TOOL],
        tool_choice="auto",
    )


CITY_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "population": {"type": "integer", "minimum": 0},
        "landmarks": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "population", "landmarks"],
    "additionalProperties": False,
}


def structured_request() -> dict[str, Any]:
    """Paris as JSON, against CITY_SCHEMA (strict json_schema response format)."""
    return request(
        messages=[{"role": "user", "content": "Describe Paris as JSON."}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "city", "schema": CITY_SCHEMA, "strict": True},
        },
    )


REASONING_REQUEST = request(
    messages=[{"role": "user", "content": "Is 97 a prime number?"}],
    reasoning={"effort": "low"},
)


def openai_request(*, include_usage: bool) -> dict[str, Any]:
    """The request of the hand-written openai-profile fixtures (their own key order)."""
    r: dict[str, Any] = {"model": "gpt-4o-mini", "stream": True}
    if include_usage:
        r["stream_options"] = {"include_usage": True}
    r["messages"] = [{"role": "user", "content": "Say hello"}]
    return r


def live_request(content: str, **more: Any) -> dict[str, Any]:
    """A request in the key order the live client sends (model, stream, messages, then `more`)."""
    return {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": content}], **more}
