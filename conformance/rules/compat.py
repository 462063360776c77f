"""Section 11: legal by the standard, yet known to break widely used clients.

Folds (rules/fold.py): each rule remembers per choice only what its finding needs (the first
offending appearance and a count); the body-edge rules (BOM, final CR) read a few bytes at
the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..findings import ERROR, WARNING, Violation
from ..sse import Block, SSEParser
from ..stream import DONE, KIND_CHUNK, DecodedEvent, Visit, has_reasoning
from . import rule
from ._util import is_int, show
from .fold import MAX_FINDINGS, PLAIN_KINDS, REASONING, Context, End, Findings, Fold
from .wording import expected_received, named

_DATALESS = {"event", "id", "retry"}


def _dataless(b: Block) -> str | None:
    """What is wrong with a block the parser did not dispatch, or None."""
    fields = b.fields & _DATALESS
    if fields:
        return f"a block with {', '.join(sorted(fields))} but no data line"
    if b.after_id:
        return "an empty block (extra blank line or comments only) after an id: line"
    return None


def _count_dataless(end: End, stop: int) -> int:
    """How many offending blocks start at or before ``stop``, by parsing the body again: only
    for a stream with more than MAX_FINDINGS of them and some after [DONE]."""
    parser = SSEParser()
    count = 0
    offset = 0
    while offset <= stop:
        data = end.read(offset, 1 << 20)
        offset += len(data)
        if data:
            parser.feed(data)
        else:
            parser.close()
        count += sum(1 for b in parser.skipped if b.offset <= stop and _dataless(b) is not None)
        parser.skipped.clear()
        if not data:
            break
    return count


@rule(
    "compat.no-dataless-blocks",
    section="11",
    title="No block with event/id/retry but no data; after a non-empty id, no empty block.",
    why="The OpenAI SDKs dispatch such a block with empty data, fail on json.loads(''), and lose the rest of the answer.",
)
class NoDatalessBlocks(Fold):
    """The blocks the parser did not dispatch, as they pass: the first few that break the
    rule are kept (their bytes are read at the end), the rest counted. Those after [DONE] are
    left out at the end (End.done), so no event needs watching."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.kept: list[tuple[Block, str]] = []
        self.more = 0
        self.last = -1  # offset of the last offending block

    def block(self, b: Block) -> None:
        what = _dataless(b)
        if what is None:
            return
        self.last = b.offset
        if len(self.kept) < MAX_FINDINGS:
            self.kept.append((b, what))
        else:
            self.more += 1

    def finish(self, end: End) -> Findings:
        stop = end.done.offset if end.done is not None else None
        kept = [(b, what) for b, what in self.kept if stop is None or b.offset <= stop]
        if stop is None or self.last <= stop:
            more = self.more  # nothing after [DONE]
        elif len(kept) < len(self.kept):
            more = 0  # blocks come in order: one kept is past [DONE], so are all the counted ones
        else:
            more = _count_dataless(end, stop) - len(kept)
        found = Findings()
        for b, what in kept:
            raw = end.read(b.offset, min(80, b.end + 2 - b.offset))
            text = expected_received(
                f"{what[0].upper()}{what[1:]}.",
                expected="a data line in every block with event/id/retry, and no empty block after an id: line",
                received=named("bytes", raw),
            )
            found.add(Violation(text, offset=b.offset))
        found.dropped += more
        if more:
            found.dropped_severities.add(None)
        return found


def _carried(obj: Any) -> str | None:
    """What an event's payload carries that a client needs beyond ``role`` (section 11:
    non-empty content or refusal, tool calls, reasoning, a finish reason, usage or an error),
    described for the finding; None when it carries nothing of that (role only, an empty delta)."""
    if not isinstance(obj, dict):
        return None
    if obj.get("error"):
        return f"an error {show(obj['error'], 40)}"
    if obj.get("usage") is not None:
        return "usage"
    choices = obj.get("choices")
    for ch in choices if isinstance(choices, list) else ():
        if not isinstance(ch, dict):
            continue
        raw = ch.get("delta")
        delta: dict[str, Any] = raw if isinstance(raw, dict) else {}
        content = delta.get("content")
        if content is not None and content != "":
            return f"content {show(content, 20)}"
        if delta.get("refusal"):
            return f"a refusal {show(delta['refusal'], 20)}"
        if isinstance(delta.get("tool_calls"), list) and delta["tool_calls"]:
            return "tool calls"
        if has_reasoning(delta):
            return "reasoning"
        if ch.get("finish_reason") is not None:
            return f"finish_reason {show(ch['finish_reason'], 20)}"
    return None


def _first_line_is_data(end: End) -> bool:
    """After the BOM, the body's first line is a ``data`` field line (the line a client that
    keeps the BOM in the field name ignores). Five bytes tell: ``data:``, or ``data`` and its
    line ending (or the body's end)."""
    line = end.read(3, 5).split(b"\n", 1)[0].split(b"\r", 1)[0]
    return line.split(b":", 1)[0] == b"data"


@rule(
    "compat.no-bom",
    section="11",
    title="The body does not start with a UTF-8 BOM.",
    why="The OpenAI Python SDK and httpx-sse keep the BOM in the first field name and drop the first event.",
    severity_note="error when the dropped first event carries data (content, tool calls, reasoning, a finish, usage, an error); "
    "warning when it carries only the role",
)
class NoBom(Fold):
    """The parser's BOM flag and a few bytes at the end; the first payload is remembered (the
    event a client that keeps the BOM drops, when it is the first event)."""

    needs_plain = False  # the first payload is never a plain chunk (the template comes before)
    plain_kinds = PLAIN_KINDS  # as idle on a reasoning or arguments plain chunk (rules/fold.py)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.first: DecodedEvent | None = None

    def payload(self, item: DecodedEvent) -> None:
        if self.first is None:
            self.first = item

    def finish(self, end: End) -> Iterator[Violation]:
        if not end.bom:
            return
        ev0 = end.first_event
        first = ev0 if ev0 is not None and _first_line_is_data(end) and ev0.offset == 3 else None
        message = expected_received(
            "The body starts with a UTF-8 BOM (EF BB BF): the OpenAI Python SDK and httpx-sse drop the first event.",
            expected="a body that starts with its first line, no BOM",
            received=f"{named('bytes', end.read(0, 40))} at the start of the body",
        )
        if first is None:
            reason = "warning: the BOM spoils a line that carries no event data (a comment or another field)"
            yield Violation(message, offset=0, severity=WARNING, reason=reason)
            return
        obj = self.first.obj if self.first is not None and self.first.event.index == first.index else None
        what = _carried(obj)
        if what is not None:
            yield Violation(message, first, offset=0, severity=ERROR, reason=f"error: the dropped first event carries {what}")
            return
        if first.data == DONE:
            reason = "warning: the dropped first event is [DONE], no chunk"
        elif not isinstance(obj, dict):
            reason = "warning: the dropped first event is no JSON object (sse.json-payload judges it)"
        elif any(isinstance(c, dict) and isinstance(c.get("delta"), dict) and c["delta"].get("role") for c in obj.get("choices") or ()):
            reason = "warning: the dropped first event carries only the role"
        else:
            reason = "warning: the dropped first event carries nothing a client needs (no role, no data)"
        yield Violation(message, first, offset=0, severity=WARNING, reason=reason)


@rule(
    "compat.no-trailing-cr",
    section="11",
    title="The body does not end in a lone CR line ending.",
    why="eventsource-parser (the Vercel AI SDK's) waits for a possible LF after a CR and never dispatches the last event.",
    severity_note="error when the event never dispatched is not [DONE] (a mid-stream error, say); warning when it is [DONE]",
)
class NoTrailingCr(Fold):
    """The body's last byte, the last event and the last payload: End's alone."""

    def finish(self, end: End) -> Iterator[Violation]:
        size = end.size
        if not size or end.read(size - 1, 1) != b"\r":
            return
        message = expected_received(
            "The body ends with a lone CR: eventsource-parser waits for an LF and never dispatches the last event.",
            expected="a last line ending in LF or CRLF",
            received=named("bytes", end.read(max(0, size - 40), min(size, 40))) + " at the end of the body",
        )
        ev = end.last_event
        # the event whose dispatching blank line is the final CR is the one the client never sees
        last = ev if ev is not None and ev.end == size - 1 else None
        at = size - 1
        if last is None:
            yield Violation(message, offset=at, severity=WARNING, reason="warning: the final CR dispatches no event")
        elif last.data == DONE:
            yield Violation(message, offset=at, severity=WARNING, reason="warning: the event never dispatched is [DONE]")
        else:
            item = end.last_payload
            obj = item.obj if item is not None and item.event.index == last.index else None
            what = "a mid-stream error event" if isinstance(obj, dict) and obj.get("error") else f"event #{last.index}, not [DONE]"
            yield Violation(message, offset=at, severity=ERROR, reason=f"error: the event never dispatched is {what}")


@rule(
    "compat.list-delta-index",
    section="11",
    title="A list delta field (not tool_calls) sent in several deltas of a choice has an integer index on every entry.",
    why="The OpenAI Python SDK's stream() helper merges such lists by index and raises on the second delta without one.",
)
class ListDeltaIndex(Fold):
    """Per choice and list field: in how many deltas it appeared, and its first entry without
    an integer index (what the finding cites)."""

    needs_plain = False  # a plain delta holds content alone, no list field
    plain_kinds = PLAIN_KINDS  # as idle on a reasoning or arguments plain chunk (rules/fold.py)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        # choice -> field -> [deltas it appeared in, (event, path, what is wrong) of its first bad entry]
        self.seen: dict[int, dict[str, list[Any]]] = {}

    def visit(self, idx: int, v: Visit) -> None:
        delta = v.delta
        if len(delta) == 1 and delta.get("content").__class__ is str:  # most deltas: one text piece
            return
        for key, value in delta.items():
            if value.__class__ is list and key != "tool_calls":
                fields = self.seen.get(idx)
                if fields is None:
                    fields = self.seen[idx] = {}
                state = fields.get(key)
                if state is None:
                    state = fields[key] = [0, None]
                state[0] += 1
                if state[1] is None:
                    for k, entry in enumerate(value):
                        if not (isinstance(entry, dict) and is_int(entry.get("index"))):
                            got = "is not an object" if not isinstance(entry, dict) else "has no integer index" if "index" not in entry else f"has {named('index', entry['index'])}"
                            state[1] = (v.item.event, f"$.choices[{v.pos}].delta.{key}[{k}]", got)
                            break

    def finish(self, end: End) -> Iterator[Violation]:
        for idx, fields in sorted(self.seen.items()):
            for key, (appearances, bad) in fields.items():
                if key == "reasoning_details":  # reasoning plain chunks are counted, not visited
                    appearances += end.plain.get((idx, REASONING), 0)
                if appearances < 2 or bad is None:
                    continue
                event, path, got = bad
                yield Violation(
                    expected_received(
                        f"delta.{key} of choice {idx} appears in {appearances} deltas: the OpenAI Python SDK's "
                        "stream() helper raises when it merges the lists.",
                        expected=f"an integer index on every {key} entry",
                        received=f"an entry that {got}",
                    ),
                    event,
                    path=path,
                )


@rule(
    "compat.no-choice-message",
    section="11",
    title="No chunk's choice carries a message object (a non-streaming field).",
    why="The OpenAI Node SDK's stream() copies it over the message it has accumulated: the streamed content is lost.",
)
class NoChoiceMessage(Fold):
    """Per choice: its first appearance with a message object, and how many more. Plain
    chunks have the template's keys: they are needed once a message object was seen."""

    needs_plain = False  # until a choice carries a message object
    plain_kinds = PLAIN_KINDS  # as idle on a reasoning or arguments plain chunk (rules/fold.py)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.carrying: dict[int, list[Any]] = {}  # choice -> [first visit, count]

    def visit(self, idx: int, v: Visit) -> None:
        if "message" in v.choice and isinstance(v.choice["message"], dict):
            self.want_plain(True)  # the template may be this chunk: plain chunks would carry it too
            seen = self.carrying.get(idx)
            if seen is None:
                self.carrying[idx] = [v, 1]
            else:
                seen[1] += 1

    def finish(self, end: End) -> Iterator[Violation]:
        for idx, (first, count) in sorted(self.carrying.items()):
            more = f" (and {count - 1} later chunk(s))" if count > 1 else ""
            yield Violation(
                expected_received(
                    f"Choice {idx} carries a message object{more}.",
                    expected="deltas only; message belongs to non-streaming answers",
                    received=named("message", first.choice["message"]),
                ),
                first.item.event,
                path=f"$.choices[{first.pos}].message",
            )


def _carries_usage(end: End) -> str | None:
    return None if end.usage_chunks else "no chunk carries usage"


@rule(
    "compat.usage-last",
    section="11",
    title="No chunk follows the last chunk that carries usage.",
    why="The SDKs' stream() accumulators take usage from the last chunk (Python) or copy each chunk over it (Node): they end with none.",
    severity="warning",
    applies=_carries_usage,
)
class UsageLast(Fold):
    """The last chunk that carries usage, the first chunk after it, and how many follow
    (plain chunks too, once a usage chunk was seen)."""

    needs_plain = False  # until a chunk carries usage
    plain_kinds = PLAIN_KINDS  # as idle on a reasoning or arguments plain chunk (rules/fold.py)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.last: DecodedEvent | None = None
        self.next: DecodedEvent | None = None
        self.after = 0

    def payload(self, item: DecodedEvent) -> None:
        if item.kind != KIND_CHUNK:
            return
        if item.obj.get("usage") is not None:
            self.last, self.next, self.after = item, None, 0
            self.want_plain(True)
        elif self.last is not None:
            self.after += 1
            if self.next is None:
                self.next = item

    def finish(self, end: End) -> Iterator[Violation]:
        last, nxt = self.last, self.next
        if last is not None and nxt is not None:
            yield Violation(
                expected_received(
                    f"Chunks follow the last chunk that carries usage (event #{last.event.index}): the OpenAI SDKs' stream() helpers end with no usage.",
                    expected="the usage chunk is the last chunk",
                    received=f"{self.after} chunk(s) after it, from event #{nxt.event.index} on",
                ),
                nxt.event,
            )


@rule(
    "compat.finish-reason-key",
    section="11",
    title="Every choice carries the finish_reason key (null until it finishes).",
    why="OpenAI's schema requires the key; clients generated strictly from it reject a choice without it.",
    severity="warning",
)
class FinishReasonKey(Fold):
    """Each appearance judged as it passes; findings by choice, then stream order. Plain
    chunks have the template's keys: they are needed once a choice without the key was seen."""

    needs_plain = False  # until a choice without the key is seen
    plain_kinds = PLAIN_KINDS  # as idle on a reasoning or arguments plain chunk (rules/fold.py)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.found = Findings()

    def visit(self, idx: int, v: Visit) -> None:
        if "finish_reason" not in v.choice:
            self.want_plain(True)  # the template may be this chunk: plain chunks would lack it too
            text = expected_received(
                f"A choice {idx} object has no finish_reason key.", expected="a finish_reason key (null until the finish)", received=named("keys", sorted(v.choice))
            )
            self.found.add(Violation(text, v.item.event, path=f"$.choices[{v.pos}]"), idx)

    def finish(self, end: End) -> Findings:
        return self.found
