"""Section 9: structured outputs stream one valid JSON document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from ..findings import Violation
from ..partialjson import first_invalid
from ..stream import AssembledChoice, Stream, Visit
from . import rule
from ._util import show, user_schema_error

# The spec exempts choices cut by length or content_filter, and refusals. Two more cases
# carry no complete response, by design, and are exempt from the rules about the complete
# content: a choice cut by a mid-stream error (section 6 judges the cut; its prefix is still
# judged by structured.partial-json), and a turn that answered with tool calls and no content
# (the response comes in a later turn).
EXEMPT = {"length", "content_filter"}


def _response_schema(stream: Stream) -> dict[str, Any] | None:
    fmt = (stream.exchange.request or {}).get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        js = fmt.get("json_schema")
        schema = js.get("schema") if isinstance(js, dict) else None
        return schema if isinstance(schema, dict) else {}
    return None


def _applies(stream: Stream) -> str | None:
    if stream.exchange.request is None:
        return "needs the request (no sidecar with 'request')"
    if _response_schema(stream) is None:
        return "the request did not ask for response_format json_schema"
    if not stream.choices:
        return "the stream has no choices"
    return None


def _judged(stream: Stream, complete: bool = True) -> Iterator[tuple[int, AssembledChoice, list[Visit]]]:
    """The choices whose content is judged; ``complete``: only those that should hold a whole response."""
    for idx, msg in sorted(stream.message.items()):
        if msg.finish_reason in EXEMPT or msg.refusal:
            continue
        if complete and msg.finish_reason == "error":
            continue
        if msg.tool_calls and not msg.content.strip():
            continue
        yield idx, msg, stream.choices[idx]


@rule(
    "structured.partial-json",
    section="9",
    title="Every prefix of the streamed content is a prefix of some JSON text (no prose, no code fences).",
    why="The OpenAI SDK's stream helper re-parses partial content after each chunk; fences or prose break .parsed.",
    severity="warning",
    applies=_applies,
)
def partial_json(stream: Stream) -> Iterator[Violation]:
    for idx, msg, visits in _judged(stream, complete=False):
        bad = first_invalid(msg.content)
        if bad is None:
            continue
        seen = 0
        for visit in visits:  # which chunk brought the first impossible character
            content = visit.delta.get("content")
            if isinstance(content, str):
                seen += len(content)
                if seen > bad:
                    break
        yield Violation(
            f"Choice {idx}'s content stops being partial JSON at character {bad}: {show(msg.content[max(0, bad - 20): bad + 20])}",
            visit.item.event,
            path=f"$.choices[{visit.pos}].delta.content",
        )


@rule(
    "structured.valid-json",
    section="9",
    title="The complete content parses as JSON.",
    why="The client's parse of the final message fails; the structured-output contract is broken.",
    applies=_applies,
)
def valid_json(stream: Stream) -> Iterator[Violation]:
    for idx, msg, visits in _judged(stream):
        try:
            orjson.loads(msg.content)
        except orjson.JSONDecodeError as exc:
            yield Violation(f"Choice {idx}'s content is not JSON ({exc}): {show(msg.content)}", visits[-1].item.event)


@rule(
    "structured.schema",
    section="9",
    title="The complete content validates against the requested schema.",
    why="Callers deserialize straight into their types; a schema break surfaces as a crash far from the stream.",
    applies=_applies,
)
def schema(stream: Stream) -> Iterator[Violation]:
    wanted = _response_schema(stream) or {}
    for idx, msg, visits in _judged(stream):
        try:
            value = orjson.loads(msg.content)
        except orjson.JSONDecodeError:
            continue  # structured.valid-json reports it
        error = user_schema_error(wanted, value)
        if error:
            yield Violation(f"Choice {idx}'s content breaks the requested schema at {error}", visits[-1].item.event)
