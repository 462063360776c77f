"""Section 9: structured outputs stream one valid JSON document.

Folds (rules/fold.py): structured.partial-json runs the partial-JSON automaton over each
choice's content as it streams (resumable, so the chunk that brought the first impossible
character is known without keeping every chunk); the rules about the complete content read
the shared assembler's message at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from ..exchange import Exchange
from ..findings import Violation
from ..partialjson import PartialJSON
from ..stream import AssembledChoice, Visit
from . import rule
from ._util import user_schema_error
from .fold import Context, End, Fold
from .wording import expected_received, named, shown

# The spec exempts choices cut by length or content_filter, and refusals. Two more cases
# carry no complete response, by design, and are exempt from the rules about the complete
# content: a choice cut by a mid-stream error (section 6 judges the cut; its prefix is still
# judged by structured.partial-json), and a turn that answered with tool calls and no content
# (the response comes in a later turn).
EXEMPT = {"length", "content_filter"}


def _response_schema(exchange: Exchange) -> dict[str, Any] | None:
    fmt = (exchange.request or {}).get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        js = fmt.get("json_schema")
        schema = js.get("schema") if isinstance(js, dict) else None
        return schema if isinstance(schema, dict) else {}
    return None


def _applies(end: End) -> str | None:
    if end.exchange.request is None:
        return "needs the request (no sidecar with 'request')"
    if _response_schema(end.exchange) is None:
        return "the request did not ask for response_format json_schema"
    if not end.choices:
        return "the stream has no choices"
    return None


def _judged(end: End, complete: bool = True) -> Iterator[tuple[int, AssembledChoice]]:
    """The choices whose content is judged; ``complete``: only those that should hold a whole response."""
    for idx, msg in sorted(end.message.items()):
        if msg.finish_reason in EXEMPT or msg.refusal:
            continue
        if complete and msg.finish_reason == "error":
            continue
        if msg.tool_calls and not msg.content.strip():
            continue
        yield idx, msg


@rule(
    "structured.partial-json",
    section="9",
    title="Every prefix of the streamed content is a prefix of some JSON text (no prose, no code fences).",
    why="The OpenAI SDK's stream helper re-parses partial content after each chunk; fences or prose break .parsed.",
    severity="warning",
    applies=_applies,
)
class PartialJSONContent(Fold):
    """Per choice, the automaton's state and the appearance that brought the first character
    no JSON text can continue with. Nothing is fed unless the request asked for a schema (the
    rule is not applicable otherwise)."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.wanted = ctx.exchange.request is not None and _response_schema(ctx.exchange) is not None
        if not self.wanted:  # not applicable: nothing to fold
            self.hooks = frozenset()
        self.automata: dict[int, PartialJSON] = {}
        self.culprit: dict[int, Visit] = {}  # choice index -> the appearance whose content broke it

    def visit(self, idx: int, v: Visit) -> None:
        content = v.delta.get("content")
        if not isinstance(content, str) or idx in self.culprit:
            return
        automaton = self.automata.get(idx)
        if automaton is None:
            automaton = self.automata[idx] = PartialJSON()
        if automaton.feed(content) is not None:
            self.culprit[idx] = v

    def finish(self, end: End) -> Iterator[Violation]:
        for idx, msg in _judged(end, complete=False):
            automaton = self.automata.get(idx)
            bad = automaton.bad if automaton is not None else None
            if bad is None:
                continue
            visit = self.culprit[idx]
            yield Violation(
                expected_received(
                    f"Choice {idx}'s content stops being partial JSON at character {bad}.",
                    expected="content that stays the start of one JSON document",
                    received=f"around character {bad}: {shown(msg.content[max(0, bad - 20) : bad + 20])}",
                ),
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
class ValidJSON(Fold):
    """The assembled content at the end, cited at the choice's last appearance."""

    def finish(self, end: End) -> Iterator[Violation]:
        for idx, msg in _judged(end):
            try:
                orjson.loads(msg.content)
            except orjson.JSONDecodeError as exc:
                text = expected_received(
                    f"Choice {idx}'s content is not JSON ({exc}).", expected="one JSON document", received=named("content", msg.content)
                )
                yield Violation(text, end.choices[idx].last.item.event)


@rule(
    "structured.schema",
    section="9",
    title="The complete content validates against the requested schema.",
    why="Callers deserialize straight into their types; a schema break surfaces as a crash far from the stream.",
    applies=_applies,
)
class Schema(Fold):
    """The assembled content against the requested schema, at the end."""

    def finish(self, end: End) -> Iterator[Violation]:
        wanted = _response_schema(end.exchange) or {}
        for idx, msg in _judged(end):
            try:
                value = orjson.loads(msg.content)
            except orjson.JSONDecodeError:
                continue  # structured.valid-json reports it
            error = user_schema_error(wanted, value)
            if error:
                text = expected_received(
                    f"Choice {idx}'s content breaks the requested schema.",
                    expected="content that validates against the requested schema",
                    received=f"{error}; {named('content', msg.content)}",
                )
                yield Violation(text, end.choices[idx].last.item.event)
