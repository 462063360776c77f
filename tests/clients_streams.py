"""Streams built inline for the client-replay tests: each shape is legal by the spec's framing
and known to make a real client lose data (the reason a compat rule or a client rule exists)."""

from __future__ import annotations

import json
from typing import Any

from conformance.exchange import Exchange

from .conftest import USAGE, chunk, stream_body

REASONING_REQUEST = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}


def _top(**fields: Any) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": "sansa-auto", **fields}


def text_body(*pieces: str) -> bytes:
    return stream_body(chunk({"role": "assistant", "content": ""}), *[chunk({"content": p}) for p in pieces], chunk({}, "stop", usage=USAGE))


def chunk_after_usage() -> Exchange:
    """OpenAI's gpt-5 moderation chunk: a last chunk after the usage chunk (usage: null)."""
    body = stream_body(
        chunk({"role": "assistant", "content": "Hi"}),
        chunk({}, "stop"),
        _top(choices=[], usage=USAGE),
        _top(choices=[], usage=None, moderation={"flagged": False}),
    )
    return Exchange(body, profile="openai", source="chunk-after-usage")


def details_without_index(key: str = "reasoning_details") -> Exchange:
    """reasoning_details (or annotations) entries without index, in two deltas."""
    entry = {"type": "reasoning.text", "text": "Think"} if key == "reasoning_details" else {"type": "url_citation", "url_citation": {"url": "https://a.example", "title": "A"}}
    more = {"type": "reasoning.text", "text": "ing."} if key == "reasoning_details" else {"type": "url_citation", "url_citation": {"url": "https://b.example", "title": "B"}}
    body = stream_body(
        chunk({"role": "assistant", "content": "", key: [entry]}),
        chunk({key: [more]}),
        chunk({"content": "Answer."}),
        chunk({}, "stop", usage=USAGE),
    )
    return Exchange(body, source=f"{key}-without-index")


def choice_with_message() -> Exchange:
    """A chunk choice that carries a `message` object beside its delta."""
    last = chunk({}, "stop", usage=USAGE)
    last["choices"][0]["message"] = {"role": "assistant", "content": None}
    body = stream_body(chunk({"role": "assistant", "content": ""}), chunk({"content": "Hello"}), chunk({"content": " there"}), last)
    return Exchange(body, source="choice-with-message")


def bom_before_content() -> Exchange:
    """A BOM, then a first event that carries content."""
    body = b"\xef\xbb\xbf" + stream_body(chunk({"role": "assistant", "content": "Hello"}), chunk({"content": " there"}), chunk({}, "stop", usage=USAGE))
    return Exchange(body, source="bom-before-content")


def error_then_lone_cr() -> Exchange:
    """A mid-stream error as the last event, the body ending in a lone CR (CR line endings)."""
    error = {"error": {"code": "upstream_error", "message": "upstream went away"}, "choices": [{"index": 0, "delta": {}, "finish_reason": "error"}]}
    body = (b"data: " + json.dumps(chunk({"role": "assistant", "content": "Once upon"})).encode() + b"\r\r"
            + b"data: " + json.dumps(error).encode() + b"\r\r")
    return Exchange(body, profile="openai", source="error-lone-cr")


def dataless_block() -> Exchange:
    """An id: line alone in a block (compat.no-dataless-blocks): the SDKs dispatch empty data."""
    parts = text_body("Hel", "lo").split(b"\n\n")
    body = b"\n\n".join(parts[:2] + [b"id: 7"] + parts[2:])
    return Exchange(body, source="dataless-block")


def event_only_block() -> Exchange:
    """An event: line alone in a block (compat.no-dataless-blocks): openai-node dispatches it."""
    parts = text_body("Hel", "lo").split(b"\n\n")
    body = b"\n\n".join(parts[:2] + [b"event: ping"] + parts[2:])
    return Exchange(body, source="event-only-block")


def finish_reason_key_missing() -> Exchange:
    """Choices without the finish_reason key until the last (compat.finish-reason-key)."""
    chunks = [chunk({"role": "assistant", "content": "Hi"}), chunk({"content": " you"}), chunk({}, "stop", usage=USAGE)]
    for c in chunks[:2]:
        del c["choices"][0]["finish_reason"]
    return Exchange(stream_body(*chunks), source="finish-reason-key-missing")


def error_marker(marker: Any) -> Exchange:
    """Every chunk carries `error: <marker>`, a no-error marker by the spec when it reads as false."""
    chunks = [chunk({"role": "assistant", "content": "Hi"}, error=marker), chunk({"content": " there"}, error=marker), chunk({}, "stop", usage=USAGE, error=marker)]
    return Exchange(stream_body(*chunks), source=f"error-marker-{marker!r}")


# What each shape does to which client, as replayed today: (stream, client, state, words the
# cell's detail or the finding holds). A client release that fixes one fails its test, so the
# fix is noticed and the rule's "why" updated.
BREAKS: list[tuple[str, Any, str, str, str]] = [
    ("chunk-after-usage", chunk_after_usage, "openai-python-stream", "differs", "usage"),
    ("chunk-after-usage", chunk_after_usage, "openai-node-stream", "differs", "usage"),
    ("reasoning-details-without-index", details_without_index, "openai-python-stream", "raised", "index"),
    ("annotations-without-index", lambda: details_without_index("annotations"), "openai-python-stream", "raised", "index"),
    ("choice-with-message", choice_with_message, "openai-node-stream", "differs", "choice 0 content"),
    ("bom-before-content", bom_before_content, "openai-python", "differs", "choice 0 content"),
    ("bom-before-content", bom_before_content, "openai-python-stream", "differs", "choice 0 content"),
    ("bom-before-content", bom_before_content, "httpx-sse", "differs", "choice 0 content"),
    ("error-lone-cr", error_then_lone_cr, "vercel-ai", "differs", "without a finish reason"),
    ("dataless-block", dataless_block, "openai-python", "raised", "JSONDecodeError"),
    ("dataless-block", dataless_block, "openai-python-stream", "raised", "JSONDecodeError"),
    ("dataless-block", dataless_block, "httpx-sse", "raised", "JSONDecodeError"),
    ("event-only-block", event_only_block, "openai-node", "raised", "JSON"),
    ("event-only-block", event_only_block, "openai-node-stream", "raised", "JSON"),
    ("error-marker-{}", lambda: error_marker({}), "openai-node", "differs", "mid-stream error"),
    ("error-marker-{}", lambda: error_marker({}), "openai-node-stream", "differs", "mid-stream error"),
    ("error-marker-null", lambda: error_marker(None), "vercel-ai", "differs", "mid-stream error"),
]

# Conformant fixtures that a client reads differently today, and why (each one is also a shape
# above): the conformant test expects exactly these differences, so a fix is noticed.
KNOWN_GAPS: dict[str, dict[str, str]] = {
    "error-null-markers.sse": {
        "openai-node": "throws its API error on `error: {}`, a no-error marker by the spec",
        "openai-node-stream": "throws its API error on `error: {}`, a no-error marker by the spec",
        "vercel-ai": "takes any chunk with an error key (error: null too) for an error part",
    },
}
