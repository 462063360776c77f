"""Section 4: the chunks, their shape, roles and finish reasons."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..findings import Violation
from ..schemas import get_schema
from ..stream import KIND_CHUNK, DecodedEvent, Visit, has_reasoning
from . import rule
from .fold import PLAIN_KINDS, Context, End, Findings, Fold
from .wording import expected_received, named

# Payload texts whose schema verdict chunk.schema remembers: a stream repeats many payloads
# (the same token, the empty closing delta); bounded, so that a stream of distinct payloads
# does not keep them all.
_SEEN = 4096


@rule(
    "chunk.schema",
    section="4",
    title="Every chunk has the required fields with the right types (schemas/chunk.json).",
    why="Clients validate (AI SDK, generated clients) or index blindly (OpenAI SDK) into these fields.",
)
class ChunkSchema(Fold):
    needs_plain = False  # a plain chunk has nothing for it (rules/fold.py)
    plain_kinds = PLAIN_KINDS  # as idle on a reasoning or arguments plain chunk (rules/fold.py)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.schema = get_schema(ctx.profile.chunk_schema)
        self.is_valid = self.schema.is_valid
        # Equal payload text is an equal JSON value, so its verdict is the same.
        self.seen: dict[str, bool] = {}
        self.found = Findings()

    def payload(self, item: DecodedEvent) -> None:
        if item.kind != KIND_CHUNK:
            return
        data = item.event.data
        valid = self.seen.get(data)
        if valid is None:
            if len(self.seen) >= _SEEN:
                self.seen.clear()
            valid = self.seen[data] = self.is_valid(item.obj)
        if not valid:
            if self.found.full():
                self.found.tally()  # counted, not kept: its message would never be shown
                return
            detail = self.schema.first_error(item.obj) or "does not match the schema"
            path, _, message = detail.partition(": ")
            text = expected_received(
                f"The chunk does not match {self.schema.name}.", expected=f"a chunk that matches {self.schema.name}", received=message
            )
            self.found.add(Violation(text, item.event, path=path))

    def finish(self, end: End) -> Findings:
        return self.found


@rule(
    "chunk.consistent-id",
    section="4",
    title="id, created and model do not change within a stream.",
    why="OpenAI documents one id and created per completion; clients take them from the first chunk.",
    severity="warning",
)
class ConsistentId(Fold):
    needs_plain = False  # a plain chunk has nothing for it (rules/fold.py)
    plain_kinds = PLAIN_KINDS  # as idle on a reasoning or arguments plain chunk (rules/fold.py)

    _KEYS = ("id", "created", "model")

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.first: DecodedEvent | None = None
        self.want: tuple[Any, ...] = ()
        self.changed: dict[str, tuple[DecodedEvent, Any]] = {}  # key -> the first chunk that changes it, and its value

    def payload(self, item: DecodedEvent) -> None:
        if item.kind != KIND_CHUNK:
            return
        obj = item.obj
        if self.first is None:
            self.first = item
            self.want = (obj.get("id"), obj.get("created"), obj.get("model"))
            return
        want = self.want
        if obj.get("id") == want[0] and obj.get("created") == want[1] and obj.get("model") == want[2]:
            return  # the common case
        for key, w in zip(self._KEYS, want):
            if key not in self.changed:
                got = obj.get(key)
                if got != w:
                    self.changed[key] = (item, got)

    def finish(self, end: End) -> Iterator[Violation]:
        first = self.first
        if first is None:
            return
        for key, want in zip(self._KEYS, self.want):
            if key in self.changed:
                item, got = self.changed[key]
                yield Violation(
                    expected_received(
                        f"{key!r} changes within the stream.",
                        expected=f"{named(key, want)} (as in event #{first.event.index})",
                        received=named(key, got),
                    ),
                    item.event,
                    path=f"$.{key}",
                )


@rule(
    "chunk.role-first",
    section="4",
    title='The first delta of each choice has role: "assistant".',
    why="The AI SDK accepts only role assistant; a stream with no choice at all gives the client nothing.",
)
class RoleFirst(Fold):
    def finish(self, end: End) -> Iterator[Violation]:
        if not end.choices:
            if end.first_chunk is not None and not end.errors:
                text = expected_received(
                    "No chunk carries a choice: there is no first delta with a role.",
                    expected="a choice whose first delta has role='assistant'",
                    received={"choices": end.first_chunk.obj.get("choices")},
                )
                yield Violation(text, end.first_chunk.event)
            return
        for idx, facts in sorted(end.choices.items()):
            first = facts.first
            role = first.delta.get("role")
            if role != "assistant":
                got = "no role" if role is None else named("role", role)
                yield Violation(
                    expected_received(
                        f"The first delta of choice {idx} has {'no role' if role is None else 'the wrong role'}.",
                        expected="role='assistant'",
                        received=got,
                    ),
                    first.item.event,
                    path=f"$.choices[{first.pos}].delta.role",
                )


@rule(
    "chunk.role-only-first",
    section="4",
    title="No later delta of the same choice carries role.",
    why="The OpenAI SDK's stream helper concatenates string fields: a repeated role becomes 'assistantassistant'.",
)
class RoleOnlyFirst(Fold):
    needs_plain = False  # a plain chunk has nothing for it (rules/fold.py)
    plain_kinds = PLAIN_KINDS  # as idle on a reasoning or arguments plain chunk (rules/fold.py)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.seen: set[int] = set()
        self.found = Findings()

    def visit(self, idx: int, v: Visit) -> None:
        if idx not in self.seen:
            self.seen.add(idx)
            return
        role = v.delta.get("role")
        if role is not None:
            self.found.add(
                Violation(
                    expected_received(
                        f"A later delta of choice {idx} repeats the role; only the first delta carries it.",
                        expected="no role after the first delta",
                        received=named("role", role),
                    ),
                    v.item.event,
                    path=f"$.choices[{v.pos}].delta.role",
                ),
                idx,
            )

    def finish(self, end: End) -> Findings:
        return self.found


@rule(
    "chunk.finish-reason-enum",
    section="4",
    title="finish_reason is null or one of the profile's values (sansa: stop, length, tool_calls, error).",
    why="Clients map finish reasons to behaviour; an unknown value becomes 'other' or an error.",
)
class FinishReasonEnum(Fold):
    needs_plain = False  # a plain chunk has nothing for it (rules/fold.py)
    plain_kinds = PLAIN_KINDS  # as idle on a reasoning or arguments plain chunk (rules/fold.py)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.allowed = ctx.profile.finish_reasons
        self.found = Findings()

    def visit(self, idx: int, v: Visit) -> None:
        fr = v.choice.get("finish_reason")
        if fr is not None and (not isinstance(fr, str) or fr not in self.allowed):
            self.found.add(
                Violation(
                    expected_received(
                        f"Choice {idx} finishes with a finish_reason outside the profile's values.",
                        expected=f"null or one of {', '.join(sorted(self.allowed))}",
                        received=named("finish_reason", fr),
                    ),
                    v.item.event,
                    path=f"$.choices[{v.pos}].finish_reason",
                ),
                idx,
            )

    def finish(self, end: End) -> Findings:
        return self.found


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
class FinishReasonOnce(Fold):
    needs_plain = False  # a plain chunk has nothing for it (rules/fold.py)
    plain_kinds = PLAIN_KINDS  # as idle on a reasoning or arguments plain chunk (rules/fold.py)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.finished: dict[int, Visit | None] = {}  # choice -> its first finish (None: the choice already reported)
        self.found = Findings()

    def visit(self, idx: int, v: Visit) -> None:
        if idx not in self.finished:  # nothing can be wrong before the first finish
            if v.choice.get("finish_reason") is not None:
                self.finished[idx] = v
            return
        finished = self.finished[idx]
        if finished is None:
            return  # reported once already
        fr = v.choice.get("finish_reason")
        if fr is not None:
            self.found.add(
                Violation(
                    expected_received(
                        f"Choice {idx} finishes a second time (first at event #{finished.item.event.index}).",
                        expected="no finish_reason after the first",
                        received=named("finish_reason", fr),
                    ),
                    v.item.event,
                    path=f"$.choices[{v.pos}].finish_reason",
                ),
                idx,
            )
            self.finished[idx] = None
        elif _has_payload(v.delta):
            self.found.add(
                Violation(
                    expected_received(
                        f"Choice {idx} streams more after its finish at event #{finished.item.event.index}.",
                        expected="only empty deltas after the finish",
                        received=named("delta", v.delta),
                    ),
                    v.item.event,
                    path=f"$.choices[{v.pos}].delta",
                ),
                idx,
            )
            self.finished[idx] = None

    def finish(self, end: End) -> Findings:
        found = self.found
        for idx, facts in sorted(end.choices.items()):
            finished = facts.finish
            entries, count = end.error_entries.get(idx, ([], 0))
            if finished is not None:
                if entries:
                    found.add(
                        Violation(
                            expected_received(
                                f"Choice {idx} finished at event #{finished.item.event.index} and the error event finishes it again.",
                                expected="no error event for a finished choice",
                                received=f"an error event for choice {idx} at event #{entries[0].event.index}",
                            ),
                            entries[0].event,
                        ),
                        idx,
                    )
            elif idx not in end.error_finishes:
                last = facts.last
                found.add(
                    Violation(
                        expected_received(
                            f"Choice {idx} never gets a finish_reason.",
                            expected="one non-null finish_reason",
                            received=f"none; the choice was last seen at event #{last.item.event.index}",
                        ),
                        last.item.event,
                    ),
                    idx,
                )
            elif count > 1:
                text = expected_received(
                    f"Choice {idx} is finished by more than one error event.",
                    expected="one error event finishing it",
                    received=f"{count} error events",
                )
                found.add(Violation(text, entries[1].event), idx)
        return found
