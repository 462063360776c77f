"""Client compatibility (spec section 11): legal streams that real clients mishandle.

A compat.* rule may have two severities (an error where a client loses data, a warning
where it does not); its folder then holds fixtures of both kinds, and so does this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .corpus import CONFORMS, Fixture, fixture, warning
from .request import REASONING_REQUEST, request
from .streams import (
    HELLO,
    Stream,
    choice,
    delta_of,
    enc,
    frame,
    hello,
    text_chunks,
    usage,
)

BOM = b"\xef\xbb\xbf"


def fixtures() -> Iterator[Fixture]:
    yield from dataless_blocks()
    yield from bom()
    yield from trailing_cr()
    yield from list_delta_index()
    yield from choice_message()
    yield from usage_last()
    yield from finish_reason_key()


def with_ids(chunks: list[dict[str, Any]]) -> list[str]:
    """One block per chunk, each with an `id: N` line (N from 1) before its data."""
    return [f"id: {i + 1}\ndata: {enc(c)}\n\n" for i, c in enumerate(chunks)]


def dataless_blocks() -> Iterator[Fixture]:
    r = "compat.no-dataless-blocks"
    h = hello("gen-v-dataless-01")
    body = frame(h.chunks[:3], done=False) + b"event: ping\n\n" + frame(h.chunks[3:])
    yield fixture(r, "event-ping", body, "An `event: ping` block with no `data` line between chunks.", req=request())
    h = hello("gen-v-dataless-02")
    yield fixture(r, "lone-retry", b"retry: 3000\n\n" + frame(h.chunks, style="spaced"),
                  "A lone `retry: 3000` block opens the stream.", req=request())
    blocks = with_ids(hello("gen-v-dataless-03").chunks)
    blocks[2] += "\n"  # one extra blank line after an event that carried an id
    yield fixture(r, "blank-line-after-id", ("".join(blocks) + "data: [DONE]\n\n").encode(),
                  "Events carry `id:` lines and one event is followed by an extra blank line: an empty block once "
                  "an id has been seen.", req=request())
    blocks = with_ids(hello("gen-v-dataless-04").chunks)
    blocks[3] += ": keep-alive\n\n"
    yield fixture(r, "comment-block-after-id", ("".join(blocks) + "data: [DONE]\n\n").encode(),
                  "A comment-only keep-alive block follows events that carry `id:` lines.", req=request())


def bom() -> Iterator[Fixture]:
    r = "compat.no-bom"
    s = Stream("gen-conf-bom-01")
    yield fixture(CONFORMS, "framing-bom", BOM + frame(text_chunks(s, HELLO)),
                  "A leading UTF-8 BOM: legal (skipped by the standard) but the OpenAI Python SDK and "
                  "httpx-sse lose the first event.", warn=[r], req=request())
    h = hello("gen-v-bom-01")
    yield warning(r, "bom-crlf", BOM + frame(h.chunks, eol="\r\n", style="spaced"),
                  "The body starts with a UTF-8 BOM (EF BB BF), otherwise a conformant CRLF stream.", req=request())
    s = Stream("gen-v-bom-02")
    ch = [s.role("Hello"), *(s.text(p) for p in HELLO[1:]), s.finish("stop", usage(12, 5))]
    yield fixture(r, "bom-before-content", BOM + frame(ch), "A BOM before a first event that carries content "
                  "(`Hello`): the OpenAI Python SDK and httpx-sse drop it, and the answer loses its first word (an "
                  "error, section 11).", req=request())
    h = hello("gen-v-bom-03")
    yield warning(r, "bom-before-comment", BOM + b": connected\n\n" + frame(h.chunks),
                  "A BOM before a comment line: the BOM spoils only the comment, no event is lost (a warning).",
                  req=request())


def trailing_cr() -> Iterator[Fixture]:
    r = "compat.no-trailing-cr"
    s = Stream("gen-conf-trailing-cr-01")
    yield fixture(CONFORMS, "framing-trailing-cr", frame(text_chunks(s, HELLO), eol="\r"),
                  "Lone-CR line endings up to the very last byte: the final CR is a complete line ending, "
                  "but eventsource-parser waits for an LF that never comes.", warn=[r], req=request())
    h = hello("gen-v-tcr-01")
    yield warning(r, "lf-then-cr", frame(h.chunks)[:-1] + b"\r",
                  "LF line endings, but the final blank line ends in a lone CR, the last byte of the body.",
                  req=request())

    o = Stream("chatcmpl-GenVTcrOpenAI01", model="gpt-4.1-mini-2025-04-14")
    oerr = {"error": {"message": "The server had an error while processing your request.", "type": "server_error",
                      "param": None, "code": None}}
    chunks = [o.role(), o.text("Once"), o.text(" upon a")]
    body = frame(chunks, done=False) + b"data: " + enc(oerr).encode() + b"\r\r"
    yield fixture(r, "cr-after-midstream-error", body, "The stream ends with a mid-stream error event (legal under "
                  "openai) whose blank line is a lone CR: eventsource-parser never dispatches it, and the AI SDK "
                  "reports a stream without a finish instead of the error (an error, section 11).",
                  profile="openai", req=request(model="gpt-4.1-mini"))


def list_delta_index() -> Iterator[Fixture]:
    r = "compat.list-delta-index"
    s = Stream("gen-conf-list-once-01")
    cite = {"type": "url_citation", "url_citation": {"url": "https://example.com/paris", "title": "Paris",
                                                     "start_index": 0, "end_index": 5}}
    chunks = [s.role(), s.delta({"reasoning_details": [{"type": "reasoning.text", "text": "Paris is a city."}]}),
              s.text("Paris"), s.text(" is the capital of France."), s.delta({"annotations": [cite]}),
              s.finish("stop", usage(9, 8))]
    yield fixture(CONFORMS, "list-fields-once-without-index", frame(chunks, style="spaced"),
                  "`reasoning_details` and `annotations` entries without `index`, but each list field appears in "
                  "only one delta: nothing to merge, so compat.list-delta-index passes.", req=REASONING_REQUEST)

    s = Stream("gen-v-ldi-01")
    thoughts = ["97 is odd", " and not divisible by 3, 5 or 7;", " so it is prime."]
    ch = [s.role(), *(s.delta({"reasoning_details": [{"type": "reasoning.text", "text": t}]}) for t in thoughts),
          s.text("Yes, 97 is prime."), s.finish("stop", usage(14, 20))]
    yield fixture(r, "reasoning-details-no-index", frame(ch), "`reasoning_details` arrive in three deltas and no "
                  "entry has an `index`: the OpenAI Python SDK's stream() helper raises on the second delta.",
                  req=REASONING_REQUEST)
    s = Stream("gen-v-ldi-02")
    cite = {"type": "url_citation", "url_citation": {"url": "https://example.com/paris", "title": "Paris"}}
    ch = [s.role(), s.text("Paris"), s.delta({"content": " is lovely.", "annotations": [cite]}),
          s.delta({"annotations": [{**cite, "index": 1}]}), s.finish("stop", usage(9, 4))]
    yield fixture(r, "annotations-first-without-index", frame(ch, style="spaced"),
                  "`annotations` in two deltas; the second entry has an index, the first does not.", req=request())
    s = Stream("gen-v-ldi-03")
    ch = [s.delta({"role": "assistant", "content": "", "reasoning_details": []}),
          s.delta({"reasoning_details": [{"type": "reasoning.text", "text": "97 is odd."}]}),
          s.text("Yes."), s.finish("stop", usage(14, 5))]
    yield fixture(r, "empty-list-counts", frame(ch), "The role delta carries `reasoning_details: []` and a later "
                  "delta an entry without `index`: an empty list counts as appearing, so the field is in two deltas.",
                  req=REASONING_REQUEST)


def choice_message() -> Iterator[Fixture]:
    r = "compat.no-choice-message"
    h = hello("gen-v-msg-01")
    said = ""
    for c in h.chunks:
        said += delta_of(c).get("content") or ""
        choice(c)["message"] = {"role": "assistant", "content": said}
    yield fixture(r, "message-on-every-chunk", frame(h.chunks), "Every chunk's choice carries a `message` object "
                  "with the text so far beside its delta: the OpenAI Node SDK's stream() copies it over what it "
                  "accumulated.", req=request())
    h = hello("gen-v-msg-02")
    choice(h.finish)["message"] = {"role": "assistant", "content": None}
    yield fixture(r, "message-on-finish", frame(h.chunks, style="spaced"), "Only the finish chunk's choice carries "
                  "a `message` (with content null): the Node SDK's snapshot loses the streamed text.", req=request())


def usage_last() -> Iterator[Fixture]:
    r = "compat.usage-last"
    o = Stream("chatcmpl-GenVUsageLast01", model="gpt-5-2025-08-07", service_tier="default",
               system_fingerprint=None)
    chunks = [o.delta({"role": "assistant", "content": "", "refusal": None}, usage=None)]
    chunks += [o.delta({"content": p}, usage=None) for p in HELLO]
    chunks.append(o.delta({}, "stop", usage=None))
    chunks.append(o.chunk([], usage=usage(11, 5)))
    chunks.append(o.chunk([], usage=None, moderation={"flagged": False, "categories": {}}))
    yield warning(r, "moderation-after-usage", frame(chunks), "OpenAI profile: the usage chunk is followed by a "
                  "moderation-like chunk (`choices: []`, `usage: null`; modelled on OpenAI's own, synthetic here): "
                  "the SDKs' stream() helpers end with no usage.",
                  profile="openai", req=request(model="gpt-5", stream_options={"include_usage": True}))
    s = Stream("gen-v-usage-last-02")
    ch = [*text_chunks(s, HELLO), s.delta({}, None)]
    yield fixture(r, "empty-chunk-after-usage", frame(ch), "An empty chunk follows the finish chunk that carries "
                  "usage: under sansa usage.present-last and usage.only-last fail as well (section 11 says both are "
                  "reported).", fail=["usage.present-last", "usage.only-last"], warn=[r], req=request())


def finish_reason_key() -> Iterator[Fixture]:
    r = "compat.finish-reason-key"
    h = hello("gen-v-frkey-01")
    for c in h.chunks[:-1]:
        del choice(c)["finish_reason"]
    yield warning(r, "omitted-until-finish", frame(h.chunks), "Non-final choices leave out the `finish_reason` key "
                  "instead of sending null (a serializer that drops nulls).", req=request())
    h = hello("gen-v-frkey-02")
    del choice(h.role)["finish_reason"]
    yield warning(r, "omitted-on-role-chunk", frame(h.chunks, style="spaced"),
                  "Only the role chunk's choice lacks the `finish_reason` key.", req=request())
