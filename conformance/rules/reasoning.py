"""Section 8: reasoning streams first, in the documented shapes."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Violation
from ..schemas import get_schema
from ..stream import Stream, has_reasoning
from . import rule


def _has_any_reasoning(stream: Stream) -> str | None:
    if any(msg.reasoning or msg.reasoning_details for msg in stream.message.values()):
        return None
    return "the stream carries no reasoning"


@rule(
    "reasoning.before-content",
    section="8",
    title="Within a choice, no reasoning appears after the first non-whitespace content.",
    why="The AI SDK closes its reasoning block at the first content; later reasoning opens a second block mid-answer.",
    applies=_has_any_reasoning,
)
def before_content(stream: Stream) -> Iterator[Violation]:
    for idx, visits in sorted(stream.choices.items()):
        content_at = None
        for visit in visits:
            if content_at is not None and has_reasoning(visit.delta):
                yield Violation(
                    f"Choice {idx} streams reasoning after its content began at event #{content_at}.",
                    visit.item.event,
                    path=f"$.choices[{visit.pos}].delta",
                )
                break
            content = visit.delta.get("content")
            if content_at is None and isinstance(content, str) and content.strip():
                content_at = visit.item.event.index


def _has_details(stream: Stream) -> str | None:
    if any(msg.reasoning_details for msg in stream.message.values()):
        return None
    return "the stream carries no reasoning_details"


@rule(
    "reasoning.schema",
    section="8",
    title="Each reasoning_details item has a string type and the payload its type needs (schemas/reasoning-detail.json).",
    why="Clients that replay reasoning (OpenRouter's SDK, the OpenAI helper) index these fields by type.",
    applies=_has_details,
)
def schema(stream: Stream) -> Iterator[Violation]:
    sch = get_schema("reasoning-detail.json")
    for idx, visits in sorted(stream.choices.items()):
        for visit in visits:
            details = visit.delta.get("reasoning_details")
            if not isinstance(details, list):
                continue
            for k, detail in enumerate(details):
                if not sch.is_valid(detail):
                    detail_err = sch.first_error(detail) or "does not match"
                    yield Violation(
                        f"A reasoning_details item of choice {idx} does not match reasoning-detail.json: {detail_err}",
                        visit.item.event,
                        path=f"$.choices[{visit.pos}].delta.reasoning_details[{k}]",
                    )
