"""The live scenarios: each one request, captured once per run, judged by every rule.

A scenario builds its request from the settings (model, the provider's reasoning switch) and
says what it provokes (``tag``, written into the exchange as its scenario, so that rules
about provoked behaviour such as ``error.pre-stream-status`` can judge it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from .config import Settings
from .scenario_names import SCENARIO_NAMES, unknown_scenarios

__all__ = ["BAD_KEY", "SCENARIOS", "SKIPPED_ON_COMMAND_LINE", "Scenario", "skipping"]

BAD_KEY = "sk-sse-conformance-invalid-key"
# The text answer must be long enough to judge delivery: sse.incremental needs 20 events, and
# a model streams a word in one or two. Short enough to keep a run fast (the reference
# endpoint answers it in 43 events, ~0.1 s at its default 2 ms per event).
TEXT_WORDS = 40

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
        },
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_local_time",
        "description": "Current local time for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
CITY_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "country": {"type": "string"},
        "population": {"type": "integer", "minimum": 0},
        "landmarks": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "kind": {"type": "string", "enum": ["museum", "park", "monument"]}},
                "required": ["name", "kind"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["city", "country", "population", "landmarks"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    build: Callable[[Settings], dict[str, Any]]
    bad_key: bool = False  # send a wrong key instead of the configured one

    @property
    def tag(self) -> str:
        """The exchange's `scenario`: what the suite provoked, for the rules that judge it."""
        return self.name

    def request(self, settings: Settings) -> dict[str, Any]:
        return self.build(settings)


def _chat(settings: Settings, content: str, **extra: Any) -> dict[str, Any]:
    return {"model": settings.model, "stream": True, "messages": [{"role": "user", "content": content}], **extra}


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "text",
            f"plain text answer, long enough ({TEXT_WORDS} words) for sse.incremental to judge delivery",
            lambda s: _chat(s, f"Write a paragraph of about {TEXT_WORDS} words on how rivers shape valleys."),
        ),
        Scenario(
            "length",
            "max_tokens cuts the answer: finish_reason length",
            lambda s: _chat(s, "Count slowly from one to two hundred, in words.", max_tokens=5),
        ),
        Scenario(
            "tool-call",
            "one tool call, arguments streamed in fragments",
            lambda s: _chat(
                s,
                "What is the weather in Paris? Use the get_weather tool.",
                tools=[WEATHER],
                tool_choice={"type": "function", "function": {"name": "get_weather"}},
            ),
        ),
        Scenario(
            "parallel-tools",
            "two tools called in parallel, fragments interleaved by index",
            lambda s: _chat(
                s,
                "Call get_weather and get_local_time for Tokyo, in parallel, using the tools.",
                tools=[WEATHER, TIME],
                tool_choice="required",
                parallel_tool_calls=True,
            ),
        ),
        Scenario(
            "reasoning",
            "reasoning switched on (configurable): reasoning first, then content",
            lambda s: _chat(s, "Is 391 a prime number? Answer yes or no.", **s.reasoning),
        ),
        Scenario(
            "structured",
            "response_format json_schema: the content is one JSON document valid against it",
            lambda s: _chat(
                s,
                "Describe Paris as JSON with two landmarks.",
                response_format={"type": "json_schema", "json_schema": {"name": "city", "strict": True, "schema": CITY_SCHEMA}},
            ),
        ),
        Scenario(
            "stream-options",
            "stream_options.include_usage is accepted (and, under openai, gives usage)",
            lambda s: _chat(s, "Say hello in one short sentence.", stream_options={"include_usage": True}),
        ),
        Scenario(
            "bad-key",
            "a wrong API key: a pre-stream 401/403 with a JSON error body",
            lambda s: _chat(s, "Say hello."),
            bad_key=True,
        ),
        Scenario(
            "invalid-params",
            "invalid parameters (temperature 9, no messages): a pre-stream 400/422",
            lambda s: {"model": s.model, "stream": True, "messages": [], "temperature": 9},
        ),
    )
}
if tuple(SCENARIOS) != SCENARIO_NAMES:  # the settings check skip names against SCENARIO_NAMES
    raise RuntimeError(f"scenario_names.SCENARIO_NAMES {SCENARIO_NAMES} is not the scenarios' names {tuple(SCENARIOS)}")


SKIPPED_ON_COMMAND_LINE = "skipped on the command line"


def skipping(settings: Settings, names: list[str] | None) -> Settings:
    """The settings with the scenarios named on the command line (``--skip a,b --skip c``)
    added to the configured ``skip`` table; the command line's reason wins for a name in both."""
    wanted = [n.strip() for value in names or [] for n in value.split(",") if n.strip()]
    unknown = unknown_scenarios(wanted)
    if unknown:
        raise UsageError(f"--skip names unknown scenario(s) {', '.join(unknown)}; scenarios: {', '.join(SCENARIO_NAMES)}")
    if not wanted:
        return settings
    return dataclasses.replace(settings, skip={**settings.skip, **{n: SKIPPED_ON_COMMAND_LINE for n in wanted}})
