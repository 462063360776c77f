"""Reasoning (spec section 8): reasoning fields that conform, and the reasoning.* violations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .corpus import CONFORMS, Fixture, fixture
from .request import REASONING_REQUEST
from .streams import Stream, frame, usage

THOUGHTS = ["97 is odd", " and not divisible by 3, 5 or 7;", " 11² = 121 > 97, so it is prime."]


def text_item(text: str, **more: Any) -> dict[str, Any]:
    """A `reasoning.text` entry of `reasoning_details`."""
    return {"type": "reasoning.text", "text": text, **more}


def fixtures() -> Iterator[Fixture]:
    yield from conformant()
    yield from before_content()
    yield from schema()


def _answer(s: Stream) -> list[dict[str, Any]]:
    return [s.text("Yes,"), s.text(" 97 is"), s.text(" prime."), s.finish("stop", usage(14, 31))]


def conformant() -> Iterator[Fixture]:
    s = Stream("gen-conf-reasoning-01")
    chunks = [s.role(), *(s.delta({"reasoning_details": [text_item(t, format="unknown", index=0)]}) for t in THOUGHTS),
              *_answer(s)]
    yield fixture(CONFORMS, "reasoning-details", frame(chunks), "Reasoning in `delta.reasoning_details` items of "
                  "type `reasoning.text`, all before the content.", req=REASONING_REQUEST)

    s = Stream("gen-conf-reasoning-02")
    chunks = [s.role(), *(s.delta({"reasoning": t}) for t in THOUGHTS), *_answer(s)]
    yield fixture(CONFORMS, "reasoning-string", frame(chunks, style="spaced"),
                  "Reasoning in the `delta.reasoning` string field, before the content.", req=REASONING_REQUEST)

    s = Stream("gen-conf-reasoning-signature-01")
    claude = "anthropic-claude-v1"
    signature = {"type": "reasoning.text", "signature": "EqQBCkYIBRgCKkD0c2lnbmF0dXJl", "format": claude, "index": 0}
    chunks = [s.role(), *(s.delta({"reasoning_details": [text_item(t, format=claude, index=0)]}) for t in THOUGHTS),
              s.delta({"reasoning_details": [signature]}),
              s.text("Yes,"), s.text(" 97 is prime."), s.finish("stop", usage(14, 31))]
    yield fixture(CONFORMS, "reasoning-signature-only", frame(chunks), "A thinking block closed by a signature-only "
                  "`reasoning.text` item (no `text`), as OpenRouter sends it (section 8); every reasoning_details "
                  "entry has an index, as compat.list-delta-index asks.", req=REASONING_REQUEST)


def before_content() -> Iterator[Fixture]:
    r = "reasoning.before-content"
    for i, (name, field, why) in enumerate([
        ("details-after-content", "reasoning_details", "`reasoning_details` arrive after the content has started."),
        ("reasoning-after-content", "reasoning", "`delta.reasoning` text arrives after the content has started."),
        ("reasoning-content-after-content", "reasoning_content",
         "`delta.reasoning_content` arrives after the content has started (DeepSeek field name)."),
    ]):
        s = Stream(f"gen-v-rbc-0{i + 1}")

        def reason(t: str) -> dict[str, Any]:  # called only within this iteration, so s and field are this one's
            # an entry over several deltas needs an index (compat.list-delta-index)
            return s.delta({field: [text_item(t, index=0)]} if field == "reasoning_details" else {field: t})  # noqa: B023

        ch = [s.role(), reason("97 is odd."), s.text("Yes,"), reason(" Checked 3, 5 and 7."),
              s.text(" it is prime."), s.finish("stop", usage(14, 20))]
        yield fixture(r, name, frame(ch, style="compact" if i % 2 == 0 else "spaced"), why, req=REASONING_REQUEST)


def schema() -> Iterator[Fixture]:
    r = "reasoning.schema"
    for i, (name, item, why) in enumerate([
        ("type-missing", {"text": "97 is odd."}, "A `reasoning_details` item has no `type`."),
        ("text-missing", {"type": "reasoning.text", "format": "unknown"}, "A `reasoning.text` item has no `text`."),
        ("encrypted-without-data", {"type": "reasoning.encrypted", "format": "anthropic-claude-v1"},
         "A `reasoning.encrypted` item has no `data`."),
        ("item-not-object", "97 is odd.", "A `reasoning_details` item is a bare string, not an object."),
    ]):
        s = Stream(f"gen-v-rschema-0{i + 1}")
        # one delta carries the list, so compat.list-delta-index (indexes over several deltas) stays out
        ch = [s.role(), s.delta({"reasoning_details": [item, text_item(" So it is prime.")]}),
              s.text("Yes, 97 is prime."), s.finish("stop", usage(14, 20))]
        yield fixture(r, name, frame(ch, style="spaced" if i % 2 else "compact"), why, req=REASONING_REQUEST)
