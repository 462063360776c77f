"""Section 4: the chunks, their shape, roles and finish reasons."""

from __future__ import annotations

from collections.abc import Iterator
from operator import attrgetter, methodcaller
from typing import Any

from ..findings import Violation
from ..schemas import get_schema
from ..stream import Stream, has_reasoning
from . import rule
from ._util import show

_obj = attrgetter("obj")
_delta = attrgetter("delta")
_get_role = methodcaller("get", "role")


@rule(
    "chunk.schema",
    section="4",
    title="Every chunk has the required fields with the right types (schemas/chunk.json).",
    why="Clients validate (AI SDK, generated clients) or index blindly (OpenAI SDK) into these fields.",
)
def chunk_schema(stream: Stream) -> Iterator[Violation]:
    schema = get_schema(stream.profile.chunk_schema)
    is_valid = schema.is_valid
    # Equal payload text is an equal JSON value, so its verdict is the same: a stream repeats
    # many payloads (the same token, the empty closing delta), each validated once.
    seen: dict[str, bool] = {}
    for item in stream.chunks:
        data = item.event.data
        valid = seen.get(data)
        if valid is None:
            valid = seen[data] = is_valid(item.obj)
        if not valid:
            detail = schema.first_error(item.obj) or "does not match the schema"
            path, _, message = detail.partition(": ")
            yield Violation(f"The chunk does not match {schema.name}: {message}", item.event, path=path)


@rule(
    "chunk.consistent-id",
    section="4",
    title="id, created and model do not change within a stream.",
    why="OpenAI documents one id and created per completion; clients take them from the first chunk.",
    severity="warning",
)
def consistent_id(stream: Stream) -> Iterator[Violation]:
    if not stream.chunks:
        return
    first = stream.chunks[0].obj
    objs = list(map(_obj, stream.chunks))
    if all(list(map(methodcaller("get", key), objs)).count(first.get(key)) == len(objs) for key in ("id", "created", "model")):
        return  # the common case, counted in C; the per-key passes below say where it changed
    for key in ("id", "created", "model"):
        want = first.get(key)
        for item in stream.chunks[1:]:
            got = item.obj.get(key)
            if got != want:
                yield Violation(
                    f"{key!r} changes within the stream.\nExpected: {key}={want!r} (as in event #{stream.chunks[0].event.index})\nReceived: {key}={got!r}",
                    item.event,
                    path=f"$.{key}",
                )
                break


def _no_choices(stream: Stream) -> bool:
    return not stream.choices


@rule(
    "chunk.role-first",
    section="4",
    title='The first delta of each choice has role: "assistant".',
    why="The AI SDK accepts only role assistant; a stream with no choice at all gives the client nothing.",
)
def role_first(stream: Stream) -> Iterator[Violation]:
    if _no_choices(stream):
        if stream.chunks and not stream.errors:
            yield Violation("No chunk carries a choice: there is no first delta with a role.", stream.chunks[0].event)
        return
    for idx, visits in sorted(stream.choices.items()):
        first = visits[0]
        role = first.delta.get("role")
        if role != "assistant":
            got = "no role" if role is None else f"role={role!r}"
            yield Violation(
                f"The first delta of choice {idx} has {got}.\nExpected: role='assistant'",
                first.item.event,
                path=f"$.choices[{first.pos}].delta.role",
            )


@rule(
    "chunk.role-only-first",
    section="4",
    title="No later delta of the same choice carries role.",
    why="The OpenAI SDK's stream() helper concatenates string fields: a repeated role becomes 'assistantassistant'.",
)
def role_only_first(stream: Stream) -> Iterator[Violation]:
    for idx, visits in sorted(stream.choices.items()):
        later = visits[1:]
        if list(map(_get_role, map(_delta, later))).count(None) == len(later):
            continue  # the common case, counted in C: no later delta has a role
        for visit in later:
            role = visit.delta.get("role")
            if role is not None:
                yield Violation(
                    f"A later delta of choice {idx} repeats role={role!r}; only the first delta carries it.",
                    visit.item.event,
                    path=f"$.choices[{visit.pos}].delta.role",
                )


@rule(
    "chunk.finish-reason-enum",
    section="4",
    title="finish_reason is null or one of the profile's values (sansa: stop, length, tool_calls, error).",
    why="Clients map finish reasons to behaviour; an unknown value becomes 'other' or an error.",
)
def finish_reason_enum(stream: Stream) -> Iterator[Violation]:
    allowed = stream.profile.finish_reasons
    finishes = stream.finishes
    for idx, visits in sorted(stream.choices.items()):
        for visit in map(visits.__getitem__, finishes[idx]):  # the visits whose finish_reason is not null
            fr = visit.choice.get("finish_reason")
            if not isinstance(fr, str) or fr not in allowed:
                yield Violation(
                    f"Choice {idx} finishes with finish_reason={show(fr)}.\nExpected: null or one of {', '.join(sorted(allowed))}",
                    visit.item.event,
                    path=f"$.choices[{visit.pos}].finish_reason",
                )


def _has_payload(delta: dict[str, Any]) -> bool:
    content = delta.get("content")
    tool_calls = delta.get("tool_calls")
    return bool(
        (isinstance(content, str) and content)
        or (content is not None and not isinstance(content, str))
        or (isinstance(tool_calls, list) and tool_calls)
        or has_reasoning(delta)
    )


@rule(
    "chunk.finish-reason-once",
    section="4",
    title="Each choice gets exactly one non-null finish_reason, and nothing but empty deltas after it.",
    why="Clients stop at the finish: anything sent later is lost, and a choice that never finishes looks truncated.",
)
def finish_reason_once(stream: Stream) -> Iterator[Violation]:
    error_entries = stream.error_entries
    finishers = stream.error_finishes
    for idx, visits in sorted(stream.choices.items()):
        finished = None
        positions = stream.finishes[idx]
        # nothing can be wrong before the first finish: start there (after it, every visit counts)
        for visit in visits[positions[0] :] if positions else ():
            fr = visit.choice.get("finish_reason")
            if finished is not None:
                if fr is not None:
                    yield Violation(
                        f"Choice {idx} finishes a second time (finish_reason={fr!r}; first at event #{finished.item.event.index}).",
                        visit.item.event,
                        path=f"$.choices[{visit.pos}].finish_reason",
                    )
                    break
                if _has_payload(visit.delta):
                    yield Violation(
                        f"Choice {idx} streams more after its finish at event #{finished.item.event.index}: {show(visit.delta)}",
                        visit.item.event,
                        path=f"$.choices[{visit.pos}].delta",
                    )
                    break
            elif fr is not None:
                finished = visit
        if finished is not None:
            extra = error_entries.get(idx)
            if extra:
                yield Violation(
                    f"Choice {idx} finished at event #{finished.item.event.index} and the error event finishes it again.",
                    extra[0].event,
                )
        elif idx not in finishers:
            yield Violation(
                f"Choice {idx} never gets a finish_reason (last seen at event #{visits[-1].item.event.index}).",
                visits[-1].item.event,
            )
        elif len(error_entries.get(idx, [])) > 1:
            yield Violation(f"Choice {idx} is finished by more than one error event.", error_entries[idx][1].event)
