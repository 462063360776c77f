"""Errors (spec sections 2 and 6): pre-stream error bodies, mid-stream error events, and what
may follow them; the error.* violations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .corpus import (
    CAPTURE_LAYOUT,
    CONFORMS,
    JSON_HEADERS,
    OPENAI_LAYOUT,
    SSE_HEADERS_CHARSET,
    Fixture,
    fixture,
    warning,
)
from .request import openai_request, request
from .streams import HELLO, Stream, enc, frame, gpt_4o_mini, openai_delta, openai_role, text_chunks
from .usage import OBFUSCATION

PROVIDER_ERROR = {"code": "provider_error", "message": "Provider disconnected"}


def error_event(error: dict[str, Any] | None = None, **rest: Any) -> dict[str, Any]:
    """A sansa mid-stream error event: `error`, and a choice finished with `error` unless `rest` says."""
    event: dict[str, Any] = {"error": PROVIDER_ERROR if error is None else error}
    event.update(rest or {"choices": [{"finish_reason": "error"}]})
    return event


def fixtures() -> Iterator[Fixture]:
    yield from conformant()
    yield from openai_conformant()
    yield from pre_stream_shape()
    yield from pre_stream_status()
    yield from mid_stream_shape()
    yield from done_after()


def conformant() -> Iterator[Fixture]:
    s = Stream("gen-conf-midstream-error-01")
    yield fixture(CONFORMS, "midstream-error",
                  frame([s.role(), s.text("Once upon"), s.text(" a time"), error_event()], style="spaced"),
                  "Mid-stream error: some content, then the error event finishing the choice with `error`, "
                  "then [DONE]; no usage is expected on a stream cut short.", req=request())

    body = enc({"error": {"code": "insufficient_credits",
                          "message": "Insufficient credits. Add more using https://example.com/credits"}},
               "spaced").encode()
    yield fixture(CONFORMS, "prestream-error-402", body, "Pre-stream error: HTTP 402 with a JSON error body "
                  "carrying string `code` and `message`, no event stream.",
                  status=402, headers=JSON_HEADERS, req=request())

    s = Stream("gen-conf-error-markers-01")
    ch = text_chunks(s, HELLO)
    for c, marker in zip(ch, [None, {}, "", False, 0, [], None]):
        c["error"] = marker
    yield fixture(CONFORMS, "error-null-markers", frame(ch), "Every chunk carries an `error` key that reads as "
                  "false (null, {}, \"\", false, 0, []): a no-error marker some gateways add (section 0), so no "
                  "event is an error event.", req=request())


def openai_conformant() -> Iterator[Fixture]:
    """Under openai a mid-stream error ends the stream: no [DONE] after it."""
    o = Stream("chatcmpl-GenConfOpenAI02", model="gpt-4.1-mini-2025-04-14", system_fingerprint="fp_5c3a1e9b20")
    chunks = [openai_role(o, obfuscation=OBFUSCATION[0]),
              openai_delta(o, {"content": "Once"}, obfuscation=OBFUSCATION[1]),
              openai_delta(o, {"content": " upon a"}, obfuscation=OBFUSCATION[2])]
    oerr = {"error": {"message": "The server had an error while processing your request. Sorry about that!",
                      "type": "server_error", "param": None, "code": None}}
    yield fixture(CONFORMS, "openai-midstream-error", frame(chunks + [oerr], style="spaced", done=False),
                  "OpenAI profile: a mid-stream `{\"error\": {...}}` event is the last event and no [DONE] follows.",
                  profile="openai", req=request(model="gpt-4.1-mini"))

    body = frame(chunks, done=False) + b"event: error\ndata: " + enc(
        {"error": {"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"}}
    ).encode() + b"\n\n"
    yield fixture(CONFORMS, "openai-midstream-error-event", body, "OpenAI profile: the mid-stream error arrives as "
                  "an `event: error` block (with data) and ends the stream.",
                  profile="openai", req=request(model="gpt-4.1-mini"))


def pre_stream_shape() -> Iterator[Fixture]:
    r = "error.pre-stream-shape"
    yield fixture(r, "error-is-string", enc({"error": "bad key"}, "spaced").encode(),
                  "The 401 body's `error` is a bare string, not an object with `code` and `message`.",
                  status=401, headers=JSON_HEADERS, req=request())
    yield fixture(r, "plain-text-body", b"Unauthorized\n", "The 401 body is plain text, not a JSON error object.",
                  status=401, headers={"content-type": "text/plain; charset=utf-8"}, req=request())
    yield fixture(r, "code-is-number", enc({"error": {"code": 402, "message": "Insufficient credits"}}).encode(),
                  "`error.code` is a number (the HTTP status), where the sansa shape needs a string.",
                  status=402, headers=JSON_HEADERS, req=request())

    # the body of conformant/text, answered to the bad-key scenario
    s = Stream("gen-conf-text-01")
    pieces = ["Bonjour", " ! Here", " is a short", " answer —", " with a café", " and a 👋."]
    yield fixture(r, "bad-key-accepted", frame(text_chunks(s, pieces)), "the bad-key scenario sent a wrong key and "
                  "the endpoint streamed an answer anyway: section 2 wants a non-2xx JSON error",
                  fail=[r], warn=["error.pre-stream-status"], req=request(), scenario="bad-key",
                  layout=CAPTURE_LAYOUT)


def pre_stream_status() -> Iterator[Fixture]:
    r = "error.pre-stream-status"
    yield warning(r, "bad-key-400", enc({"error": {"code": "invalid_api_key",
                                                   "message": "Invalid API key provided"}}).encode(),
                  "The provoked bad-key error is answered with 400 instead of 401 or 403.",
                  status=400, headers=JSON_HEADERS, req=request(), scenario="bad-key")
    yield warning(r, "invalid-params-500", enc({"error": {"code": "internal_error",
                                                          "message": "temperature must be between 0 and 2"}},
                                               "spaced").encode(),
                  "The provoked invalid-parameter error (temperature 7) is answered with 500 instead of 400 or 422.",
                  status=500, headers=JSON_HEADERS, req=request(temperature=7), scenario="invalid-params")


def mid_stream_shape() -> Iterator[Fixture]:
    r = "error.mid-stream-shape"
    cases = [
        ("code-missing", error_event({"message": "Provider disconnected"}), "spaced",
         "The error event's `error` has `message` but no `code`."),
        ("code-number", error_event({"code": 502, "message": "Provider disconnected"}), "compact",
         "The error event's `error.code` is a number (502), not a string."),
        ("no-choices", {"error": PROVIDER_ERROR}, "spaced",
         "The error event has no `choices[0].finish_reason == \"error\"` (it still finishes the open choice)."),
    ]
    for i, (name, err, style, why) in enumerate(cases):
        s = Stream(f"gen-v-errshape-0{i + 1}")
        yield fixture(r, name, frame([s.role(), s.text("Once upon"), s.text(" a time"), err], style=style), why,
                      req=request())

    s = Stream("gen-v-errshape-04")
    yield fixture(r, "empty-choices", frame([s.role(), s.text("Once upon"), error_event(choices=[])]),
                  "The error event's `choices` is empty: it fails the shape, yet still finishes the open choice, so "
                  "chunk.finish-reason-once reports nothing more (section 6).", req=request())

    s = gpt_4o_mini()
    chunks = [openai_role(s), openai_delta(s, {"content": "Hello"}), {"error": {"type": "server_error", "code": None}}]
    yield fixture(r, "openai-no-message", frame(chunks, done=False),
                  "profile openai: the error object has no message, the one field OpenAI's error schema requires",
                  fail=[r], profile="openai", headers=SSE_HEADERS_CHARSET, req=openai_request(include_usage=True),
                  layout=OPENAI_LAYOUT)


def done_after() -> Iterator[Fixture]:
    r = "error.done-after"
    s = Stream("gen-v-errdone-01")
    yield fixture(r, "chunk-between-error-and-done",
                  frame([s.role(), s.text("Once upon"), error_event(), s.delta({}, None)]),
                  "An (empty) chunk sits between the error event and [DONE].", req=request())
    s = Stream("gen-v-errdone-02")
    yield fixture(r, "no-done", frame([s.role(), s.text("Once upon"), error_event()], done=False),
                  "The stream ends right after the error event without [DONE] (which also fails `sse.done`).",
                  fail=["error.done-after", "sse.done"], req=request())
