"""Framing (spec section 1): legal-but-tricky framings that conform, and the sse.* violations
about bytes, events and [DONE]. Delivery (sse.incremental) is in delivery.py."""

from __future__ import annotations

import json
from collections.abc import Iterator

from .corpus import CONFORMS, OPENAI_LAYOUT, SSE_HEADERS_CHARSET, Fixture, body_only, fixture
from .request import openai_request, request
from .streams import (
    CREATED,
    HELLO,
    MODEL,
    Stream,
    enc,
    frame,
    gpt_4o_mini,
    hello,
    insert_at,
    openai_delta,
    openai_role,
    text_chunks,
    usage,
)


def fixtures() -> Iterator[Fixture]:
    yield from conformant()
    yield from content_type()
    yield from utf8()
    yield from json_payload()
    yield from done()
    yield from nothing_after_done()


def conformant() -> Iterator[Fixture]:
    """The same plain stream under every legal line ending, comment and `data:` spelling."""
    s = Stream("gen-conf-crlf-01")
    yield fixture(CONFORMS, "framing-crlf", frame(text_chunks(s, HELLO), eol="\r\n"),
                  "Every line ends in CRLF.", req=request())

    s = Stream("gen-conf-cr-01")
    body = frame(text_chunks(s, HELLO), eol="\r")
    body = body[:-1] + b"\r\n"  # the last blank line ends in CRLF: no lone CR at the very end
    yield fixture(CONFORMS, "framing-cr", body, "Every line ends in a lone CR, except the final blank line, which "
                  "ends in CRLF so the body does not end in a lone CR.", req=request())

    yield fixture(CONFORMS, "framing-comments", _keepalive_body(), "Comment keep-alives (`: PROCESSING`) before "
                  "the first event, between events and inside an event block; no `id:` lines, so comment-only "
                  "blocks are harmless.", req=request())

    s = Stream("gen-conf-nospace-01")
    yield fixture(CONFORMS, "framing-data-nospace", frame(text_chunks(s, HELLO), data_prefix="data:"),
                  "`data:value` with no space after the colon, on every event including [DONE].", req=request())

    s = Stream("gen-conf-multiline-01")
    parts = []
    for c in text_chunks(s, HELLO):
        lines = json.dumps(c, indent=1, ensure_ascii=False).split("\n")
        parts.append("".join(f"data: {ln}\n" for ln in lines) + "\n")
    parts.append("data: [DONE]\n\n")
    yield fixture(CONFORMS, "framing-multiline-data", "".join(parts).encode(),
                  "Each JSON object is pretty-printed over several `data:` lines; the LF that joins them "
                  "falls where JSON allows whitespace.", req=request())

    # mixed line endings; a CR is never followed by an LF that belongs to the next line
    s = Stream("gen-conf-mixed-eol-01")
    endings = [("\n", "\n"), ("\r\n", "\r\n"), ("\r", "\r"), ("\n", "\r\n"), ("\r", "\r\n"), ("\r\n", "\n"),
               ("\r", "\r")]
    parts = [f"data: {enc(c)}{a}{b}" for c, (a, b) in zip(text_chunks(s, HELLO), endings)]
    parts.append("data: [DONE]\r\n\n")
    yield fixture(CONFORMS, "framing-mixed-eol", "".join(parts).encode(),
                  "Line endings mix LF, CRLF and CR from line to line (never a CR directly before an LF "
                  "that ends the next line).", req=request())

    # a curl capture: the body alone, no sidecar; it must give no finding at all
    s = Stream("gen-conf-curl-01")
    yield body_only(CONFORMS, "curl-capture", frame(text_chunks(s, ["Sure", ", here", " you are."]), style="spaced"))


def _keepalive_body() -> bytes:
    """`: PROCESSING` comments before, between and (in the fourth chunk's block) inside events."""
    s = Stream("gen-conf-keepalive-01")
    parts = [": PROCESSING\n\n", ": PROCESSING\n\n"]
    for i, c in enumerate(text_chunks(s, HELLO)):
        if i in (1, 3):
            parts.append(": PROCESSING\n\n")
        if i == 4:
            parts.append(f": PROCESSING\ndata: {enc(c)}\n\n")  # a comment line inside an event block
        else:
            parts.append(f"data: {enc(c)}\n\n")
    parts.append(": PROCESSING\n\ndata: [DONE]\n\n")
    return "".join(parts).encode()


def content_type() -> Iterator[Fixture]:
    r = "sse.content-type"
    h = hello("gen-v-ctype-01")
    yield fixture(r, "application-json", frame(h.chunks), "A 200 event stream labelled `application/json`.",
                  headers={"content-type": "application/json"}, req=request())
    h = hello("gen-v-ctype-02")
    yield fixture(r, "text-plain", frame(h.chunks, style="spaced"),
                  "A 200 event stream labelled `text/plain; charset=utf-8`.",
                  headers={"content-type": "text/plain; charset=utf-8"}, req=request())


def utf8() -> Iterator[Fixture]:
    """Bytes that are not UTF-8, placed inside the third content string (` can I`)."""
    r = "sse.utf8"
    for name, raw, why in [
        ("invalid-bytes", b"\xff\xfe", "The bytes FF FE (never valid UTF-8) sit inside a content string."),
        ("truncated-multibyte", b"caf\xc3",
         "A two-byte UTF-8 sequence is cut after its first byte (C3) inside a content string."),
        ("encoded-surrogate", b"\xed\xa0\x80",
         "A UTF-16 surrogate encoded as three bytes (ED A0 80, CESU-8 style) sits inside a content string."),
    ]:
        h = hello(f"gen-v-utf8-{name}")
        body = frame(h.chunks).replace(b'"content":" can I"', b'"content":" can ' + raw + b' I"')
        assert raw in body
        yield fixture(r, name, body, why, req=request())


def json_payload() -> Iterator[Fixture]:
    r = "sse.json-payload"
    h = hello("gen-v-json-01")
    yield fixture(r, "plain-text-event", frame(insert_at(h.chunks, 3, "ping")),
                  "A `data: ping` event between chunks is neither [DONE] nor a JSON object.", req=request())
    h = hello("gen-v-json-02")
    # %-format, not an f-string: the text is a Python dict repr, every brace would need doubling
    pyrepr = "{'id': 'gen-v-json-02', 'object': 'chat.completion.chunk', 'created': %d, 'model': '%s', " \
             "'choices': [{'index': 0, 'delta': {'content': ' and'}, 'finish_reason': None}]}" % (CREATED, MODEL)  # noqa: UP031
    yield fixture(r, "python-repr", frame(insert_at(h.chunks, 3, pyrepr), style="spaced"),
                  "One event carries a Python dict repr (single quotes, None) instead of JSON.", req=request())
    h = hello("gen-v-json-03")
    body = frame(h.chunks[:2], done=False) + b"data:\n\n" + frame(h.chunks[2:])
    yield fixture(r, "empty-data", body, "A `data:` line with an empty value dispatches an event whose payload "
                  "is the empty string.", req=request())

    for name, constant in (("nan", "NaN"), ("infinity", "-Infinity")):
        h = hello(f"gen-v-json-{name}")
        body = frame(h.chunks[:-1], done=False)
        body += f'data: {enc(h.finish)[:-1]},"x_score":{constant}}}\n\ndata: [DONE]\n\n'.encode()
        yield fixture(r, name, body, f"The last chunk carries `{constant}`: Python's json module reads it, but it "
                      "is not JSON (JSON.parse and strict decoders reject it), whatever library decodes it.",
                      fail=[r, "usage.present-last", "chunk.finish-reason-once"], req=request())


def done() -> Iterator[Fixture]:
    r = "sse.done"
    h = hello("gen-v-done-01")
    yield fixture(r, "missing", frame(h.chunks, done=False),
                  "The stream ends after the usage chunk without `data: [DONE]`.", req=request())
    h = hello("gen-v-done-02")
    yield fixture(r, "no-blank-line", frame(h.chunks)[:-1],
                  "`data: [DONE]` is the last line but no blank line follows it, so by WHATWG the block is "
                  "discarded and no [DONE] event arrives.", req=request())
    h = hello("gen-v-done-03")
    yield fixture(r, "no-line-ending", frame(h.chunks)[:-2],
                  "The body ends in `data: [DONE]` with no line ending at all: the block is never dispatched.",
                  req=request())

    s = gpt_4o_mini()
    chunks = [openai_role(s), openai_delta(s, {"content": "Hello"}), openai_delta(s, {"content": "!"})]
    yield fixture(r, "openai-truncated", frame(chunks, done=False),
                  "profile openai: the stream just stops, with neither a finish, an error event nor [DONE]; only "
                  "an error may end an openai stream early",
                  fail=["sse.done", "chunk.finish-reason-once"], profile="openai", headers=SSE_HEADERS_CHARSET,
                  req=openai_request(include_usage=False), layout=OPENAI_LAYOUT)


def nothing_after_done() -> Iterator[Fixture]:
    r = "sse.nothing-after-done"
    h = hello("gen-v-after-done-01")
    yield fixture(r, "chunk-after-done", frame(h.chunks) + frame([h.stream.text(" Anything else?")], done=False),
                  "A content chunk arrives after [DONE].", req=request())
    h = hello("gen-v-after-done-02")
    yield fixture(r, "second-done", frame(h.chunks) + b"data: [DONE]\n\n",
                  "A second `data: [DONE]` event follows the first.", req=request())
    s = Stream("gen-v-after-done-03")
    ch = [s.role(), *(s.text(p) for p in HELLO), s.finish("stop")]
    body = frame(ch) + frame([s.chunk([], usage=usage(12, 5))], done=False)
    yield fixture(r, "usage-after-done", body, "The usage chunk comes after [DONE]; the finish chunk before "
                  "[DONE] has none, so `usage.present-last` fails as well.",
                  fail=["sse.nothing-after-done", "usage.present-last"], req=request())
