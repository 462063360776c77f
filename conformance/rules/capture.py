"""The suite's own limits: a capture cut short is a finding, never a crash or a hang."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Violation
from ..stream import Stream
from . import ANY, rule


@rule(
    "capture.complete",
    section="suite",
    title="The capture is complete: no transport failure, no size limit reached.",
    why="What the suite could not read it cannot judge; an endpoint that sends endless or enormous lines must not pass by default.",
    scope=ANY,
    without_response=True,
)
def complete(stream: Stream) -> Iterator[Violation]:
    if stream.exchange.problem:
        yield Violation(stream.exchange.problem)
    for offset, length in stream.parser.oversized:
        yield Violation(
            f"A line of {length:,} bytes exceeds the {stream.parser.max_line:,}-byte line limit; it was skipped unjudged.",
            offset=offset,
        )


def _has_reasoning(stream: Stream) -> bool:
    return any(m.reasoning or m.reasoning_details for m in stream.message.values())


# What each live scenario provokes, and how to see it in the answer.
EXERCISED = {
    "tool-call": ("a tool call (the request forced one)", lambda s: any(m.tool_entries for m in s.message.values())),
    "parallel-tools": (
        "tool calls (the request asked for two or more, in parallel)",
        lambda s: any(len(m.tool_calls) >= 2 for m in s.message.values()),
    ),
    "length": ("finish_reason 'length' (max_tokens was 5)", lambda s: any(m.finish_reason == "length" for m in s.message.values())),
    "reasoning": ("reasoning (the request switched it on)", _has_reasoning),
    "structured": ("content (a JSON document was asked for)", lambda s: any(m.content.strip() for m in s.message.values())),
}


def _exercising(stream: Stream) -> str | None:
    if stream.exchange.scenario not in EXERCISED:
        return "judged on the live scenarios that provoke a feature (tools, length, reasoning, structured)"
    if not stream.choices:
        return "the answer has no choices"
    return None


@rule(
    "scenario.exercised",
    section="suite",
    title="A live scenario's answer shows the feature it provoked (else skip the scenario with a reason).",
    why="An endpoint that ignores tools, max_tokens or the reasoning switch would otherwise pass those scenarios untested.",
    severity="warning",
    applies=_exercising,
    live=True,
)
def exercised(stream: Stream) -> Iterator[Violation]:
    scenario = stream.exchange.scenario or ""
    what, seen = EXERCISED[scenario]
    if not seen(stream):
        calls = max(len(m.tool_calls) for m in stream.message.values())
        if scenario == "parallel-tools" and calls == 1:
            yield Violation(
                "The parallel-tools scenario's answer has one tool call, not two or more: parallel calls (interleaved by "
                "index) were not exercised.\nIf the endpoint does not call tools in parallel, skip the scenario: "
                '[tool.sse-conformance] skip = ["parallel-tools"]'
            )
            return
        yield Violation(
            f"The {scenario} scenario's answer has no {what}: the feature was not exercised, so its rules judged nothing.\n"
            f"If the endpoint does not support it, skip the scenario: [tool.sse-conformance] skip = [\"{scenario}\"]"
        )
