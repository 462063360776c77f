"""Section 11: legal by the standard, yet known to break widely used clients."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Violation
from ..stream import Stream
from . import rule

_DATALESS = {"event", "id", "retry"}


@rule(
    "compat.no-dataless-blocks",
    section="11",
    title="No block with event/id/retry but no data; after a non-empty id, no empty block.",
    why="The OpenAI SDKs dispatch such a block with empty data, fail on json.loads(''), and lose the rest of the answer.",
)
def no_dataless_blocks(stream: Stream) -> Iterator[Violation]:
    stop = stream.done.offset if stream.done is not None else None
    body = stream.exchange.body
    for block in stream.parser.skipped:
        if stop is not None and block.offset > stop:
            break
        fields = block.fields & _DATALESS
        if fields:
            what = f"a block with {', '.join(sorted(fields))} but no data line"
        elif block.after_id:
            what = "an empty block (extra blank line or comments only) after an id: line"
        else:
            continue
        yield Violation(f"{what}: {body[block.offset: block.end + 2][:80]!r}", offset=block.offset)


@rule(
    "compat.no-bom",
    section="11",
    title="The body does not start with a UTF-8 BOM.",
    why="The OpenAI Python SDK and httpx-sse keep the BOM in the first field name and drop the first event.",
    severity="warning",
)
def no_bom(stream: Stream) -> Iterator[Violation]:
    if stream.parser.bom:
        yield Violation("The body starts with a UTF-8 BOM (EF BB BF).", offset=0)


@rule(
    "compat.no-trailing-cr",
    section="11",
    title="The body does not end in a lone CR line ending.",
    why="eventsource-parser (the Vercel AI SDK's) waits for a possible LF after a CR and never dispatches the last event.",
    severity="warning",
)
def no_trailing_cr(stream: Stream) -> Iterator[Violation]:
    body = stream.exchange.body
    if body.endswith(b"\r"):
        yield Violation("The body ends with a lone CR.", offset=len(body) - 1)


@rule(
    "compat.finish-reason-key",
    section="11",
    title="Every choice carries the finish_reason key (null until it finishes).",
    why="OpenAI's schema requires the key; clients generated strictly from it reject a choice without it.",
    severity="warning",
)
def finish_reason_key(stream: Stream) -> Iterator[Violation]:
    for idx, visits in sorted(stream.choices.items()):
        for visit in visits:
            if "finish_reason" not in visit.choice:
                yield Violation(f"A choice {idx} object has no finish_reason key.", visit.item.event, path=f"$.choices[{visit.pos}]")
