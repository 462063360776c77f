"""Section 5 (and the openai profile's usage notes): where usage goes and what it adds up to."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..findings import Violation
from ..schemas import get_schema
from ..stream import KIND_CHUNK, DecodedEvent
from . import rule
from .fold import MAX_FINDINGS, PLAIN_KINDS, Context, End, Findings, Fold
from .wording import expected_received, named


def _usage_requested(end: End) -> bool:
    request = end.exchange.request or {}
    opts = request.get("stream_options")
    return isinstance(opts, dict) and opts.get("include_usage") is True


def _finishes_normally(end: End) -> str | None:
    if end.errors:
        return "the stream was cut short by a mid-stream error, which carries no usage"
    if not end.chunks:
        return "the stream has no chunks"
    return None


def _present_applies(end: End) -> str | None:
    if not end.profile.usage_always:
        if end.exchange.request is None:
            return "under this profile usage is expected only when the request asks for it (no request recorded)"
        if not _usage_requested(end):
            return "the request did not set stream_options.include_usage"
    return _finishes_normally(end)


def _finishes(obj: dict[str, Any]) -> bool:
    """The chunk finishes some choice (a choice object with a non-null finish_reason)."""
    chs = obj.get("choices")
    return isinstance(chs, list) and any(isinstance(c, dict) and c.get("finish_reason") is not None for c in chs)


@rule(
    "usage.present-last",
    section="5",
    title="The last chunk carries a usage object (openai: a chunk at or after the last finish, when requested).",
    why="The OpenAI SDK's stream helper overwrites usage with every chunk's: only the last chunk's survives.",
    applies=_present_applies,
)
class PresentLast(Fold):
    """Judged from End: the engine keeps the last chunk, the last finishing chunk and the last
    chunk whose usage is an object."""

    def finish(self, end: End) -> Iterator[Violation]:
        last = end.last_chunk
        assert last is not None  # applies: the stream has chunks
        if end.profile.usage_always:
            if not isinstance(last.obj.get("usage"), dict):
                yield Violation(
                    expected_received(
                        "The last chunk carries no usage object.",
                        expected="usage with prompt_tokens, completion_tokens, total_tokens",
                        received=named("usage", last.obj.get("usage")),
                    ),
                    last.event,
                    path="$.usage",
                )
            return
        carrier = end.last_usage_object_chunk
        finish = end.last_finish_chunk
        if carrier is None or (finish is not None and carrier.event.index < finish.event.index):
            yield Violation(
                expected_received(
                    "Usage was requested (stream_options.include_usage) but no chunk at or after the last finish carries it.",
                    expected="a usage object on a chunk at or after the last finish" + ("" if finish is None else f" (event #{finish.event.index})"),
                    received="no usage object" if carrier is None else f"the last usage object at event #{carrier.event.index}",
                ),
                last.event,
                path="$.usage",
            )


@rule(
    "usage.only-last",
    section="5",
    title="No chunk but the last carries usage (openai: only one chunk, none before the last finish).",
    why="Usage on a middle chunk is counted or shown too early; later chunks without it erase it in the OpenAI helper.",
    applies=_finishes_normally,
)
class OnlyLast(Fold):
    needs_plain = False  # a plain chunk has nothing for it (rules/fold.py)
    plain_kinds = PLAIN_KINDS  # as idle on a reasoning or arguments plain chunk (rules/fold.py)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.always = ctx.profile.usage_always
        self.carriers: list[DecodedEvent] = []  # the first MAX_FINDINGS + 1 chunks whose usage is not null
        self.count = 0
        self.before_finish = 0  # carriers before the latest finishing chunk (openai)

    def payload(self, item: DecodedEvent) -> None:
        if item.kind != KIND_CHUNK:
            return
        obj = item.obj
        if not self.always and _finishes(obj):
            self.before_finish = self.count
        if obj.get("usage") is not None:
            self.count += 1
            if len(self.carriers) <= MAX_FINDINGS:
                self.carriers.append(item)

    def finish(self, end: End) -> Findings:
        found = Findings()
        last = end.last_chunk
        assert last is not None  # applies: the stream has chunks
        if self.always:
            wrong = self.count - (1 if self.carriers and end.last_usage_chunk is last else 0)
            for item in self.carriers:
                if item is last:
                    continue
                if found.full():
                    break
                found.add(
                    Violation(
                        expected_received(
                            f"Event #{item.event.index} carries usage but is not the last chunk.",
                            expected=f"usage only on the last chunk (event #{last.event.index})",
                            received=named("usage", item.obj.get("usage")),
                        ),
                        item.event,
                        path="$.usage",
                    )
                )
            for _ in range(wrong - found.count(0)):
                found.tally()
            return found
        finish = end.last_finish_chunk
        if finish is not None:
            for item in self.carriers[: min(self.before_finish, MAX_FINDINGS)]:
                text = expected_received(
                    "Usage arrives before the last finish.",
                    expected=f"usage at or after the last finish (event #{finish.event.index})",
                    received=f"{named('usage', item.obj.get('usage'))} at event #{item.event.index}",
                )
                found.add(Violation(text, item.event, path="$.usage"))
            for _ in range(self.before_finish - found.count(0)):
                found.tally()
        if self.count > 1:
            text = expected_received(
                "More than one chunk carries usage; only one may.",
                expected="usage on one chunk",
                received=f"usage on {self.count} chunks",
            )
            found.add(Violation(text, self.carriers[1].event, path="$.usage"), 1)
        return found


@rule(
    "usage.totals",
    section="5",
    title="Usage counts are non-negative integers and total_tokens = prompt_tokens + completion_tokens.",
    why="Billing and quota code trusts these numbers.",
    applies=_finishes_normally,
)
class Totals(Fold):
    needs_plain = False  # a plain chunk has nothing for it (rules/fold.py)
    plain_kinds = PLAIN_KINDS  # as idle on a reasoning or arguments plain chunk (rules/fold.py)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.schema = get_schema("usage.json")
        self.found = Findings()

    def payload(self, item: DecodedEvent) -> None:
        if item.kind != KIND_CHUNK:
            return
        usage = item.obj.get("usage")
        if usage is None:
            return
        if not self.schema.is_valid(usage):
            if self.found.full():
                self.found.tally()
                return
            text = expected_received(
                "The usage object does not match usage.json.",
                expected="a usage object that matches usage.json",
                received=self.schema.first_error(usage) or named("usage", usage),
            )
            self.found.add(Violation(text, item.event, path="$.usage"))
            return
        p, c, t = usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]
        if p + c != t:
            if self.found.full():
                self.found.tally()
                return
            self.found.add(
                Violation(
                    expected_received(
                        "Usage does not add up.",
                        expected=f"total_tokens={p + c} (prompt {p} + completion {c})",
                        received=named("total_tokens", t),
                    ),
                    item.event,
                    path="$.usage.total_tokens",
                )
            )

    def finish(self, end: End) -> Findings:
        return self.found
