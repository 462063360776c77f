"""Section 5 (and the openai profile's usage notes): where usage goes and what it adds up to."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Violation
from ..schemas import get_schema
from ..stream import Stream
from . import rule


def _usage_requested(stream: Stream) -> bool:
    request = stream.exchange.request or {}
    opts = request.get("stream_options")
    return isinstance(opts, dict) and opts.get("include_usage") is True


def _finishes_normally(stream: Stream) -> str | None:
    if stream.errors:
        return "the stream was cut short by a mid-stream error, which carries no usage"
    if not stream.chunks:
        return "the stream has no chunks"
    return None


def _present_applies(stream: Stream) -> str | None:
    if not stream.profile.usage_always:
        if stream.exchange.request is None:
            return "under this profile usage is expected only when the request asks for it (no request recorded)"
        if not _usage_requested(stream):
            return "the request did not set stream_options.include_usage"
    return _finishes_normally(stream)


def _last_finish(stream: Stream) -> int:
    """Position in ``stream.chunks`` of the last chunk that finishes a choice, or -1."""
    last = -1
    for pos, item in enumerate(stream.chunks):
        chs = item.obj.get("choices")
        if isinstance(chs, list) and any(isinstance(c, dict) and c.get("finish_reason") is not None for c in chs):
            last = pos
    return last


@rule(
    "usage.present-last",
    section="5",
    title="The last chunk carries a usage object (openai: a chunk at or after the last finish, when requested).",
    why="The OpenAI SDK's stream helper overwrites usage with every chunk's: only the last chunk's survives.",
    applies=_present_applies,
)
def present_last(stream: Stream) -> Iterator[Violation]:
    chunks = stream.chunks
    if stream.profile.usage_always:
        last = chunks[-1]
        if not isinstance(last.obj.get("usage"), dict):
            yield Violation(
                f"The last chunk carries no usage object (usage={last.obj.get('usage')!r}).\nExpected: usage with prompt_tokens, completion_tokens, total_tokens",
                last.event,
                path="$.usage",
            )
        return
    start = max(_last_finish(stream), 0)
    if not any(isinstance(item.obj.get("usage"), dict) for item in chunks[start:]):
        yield Violation(
            "Usage was requested (stream_options.include_usage) but no chunk at or after the last finish carries it.",
            chunks[-1].event,
            path="$.usage",
        )


@rule(
    "usage.only-last",
    section="5",
    title="No chunk but the last carries usage (openai: only one chunk, none before the last finish).",
    why="Usage on a middle chunk is counted or shown too early; later chunks without it erase it in the OpenAI helper.",
    applies=_finishes_normally,
)
def only_last(stream: Stream) -> Iterator[Violation]:
    chunks = stream.chunks
    carriers = stream.usage_positions
    if stream.profile.usage_always:
        for pos in carriers:
            if pos != len(chunks) - 1:
                yield Violation(
                    f"Event #{chunks[pos].event.index} carries usage but is not the last chunk (the last is event #{chunks[-1].event.index}).",
                    chunks[pos].event,
                    path="$.usage",
                )
        return
    last_finish = _last_finish(stream)
    for pos in carriers:
        if pos < last_finish:
            yield Violation(
                f"Usage arrives before the last finish (event #{chunks[last_finish].event.index}).",
                chunks[pos].event,
                path="$.usage",
            )
    if len(carriers) > 1:
        yield Violation(f"{len(carriers)} chunks carry usage; only one may.", chunks[carriers[1]].event, path="$.usage")


@rule(
    "usage.totals",
    section="5",
    title="Usage counts are non-negative integers and total_tokens = prompt_tokens + completion_tokens.",
    why="Billing and quota code trusts these numbers.",
    applies=_finishes_normally,
)
def totals(stream: Stream) -> Iterator[Violation]:
    schema = get_schema("usage.json")
    for item in map(stream.chunks.__getitem__, stream.usage_positions):  # the chunks whose usage is not null
        usage = item.obj.get("usage")
        if not schema.is_valid(usage):
            yield Violation(f"The usage object does not match usage.json: {schema.first_error(usage)}", item.event, path="$.usage")
            continue
        p, c, t = usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]
        if p + c != t:
            yield Violation(
                f"Usage does not add up.\nExpected: total_tokens={p + c} (prompt {p} + completion {c})\nReceived: total_tokens={t}",
                item.event,
                path="$.usage.total_tokens",
            )
