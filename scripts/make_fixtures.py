#!/usr/bin/env python3
"""Write the project's own recorded-stream corpus: fixtures/conformant/ and fixtures/violations/.

Every fixture is a raw response body (`NAME.sse`, bytes exactly as a client would receive
them) plus a sidecar (`NAME.json`) saying what the suite must report about it (`expect`) and,
for violations, `why` it is broken. Running the script rewrites the files byte-identically:
nothing here reads a clock, a random source or the environment.

    python scripts/make_fixtures.py            # (re)write the fixtures
    python scripts/make_fixtures.py --check    # exit 1 if a file on disk differs or is missing

    python scripts/make_fixtures.py --real /work/shared/corpus/real   # also refresh fixtures/real/

fixtures/real/ is a byte-for-byte copy of the shared corpus plus hand-judged sidecars (the REAL
table below); it is only written when --real names the corpus directory (fixtures/README.md).
Standard library only.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
GENERATED_DIRS = ("conformant", "violations")

CREATED = 1767225600  # 2026-01-01T00:00:00Z, the `created` of every generated stream
MODEL = "sansa-auto"
SSE_HEADERS = {"content-type": "text/event-stream"}
SSE_HEADERS_CHARSET = {"content-type": "text/event-stream; charset=utf-8"}
JSON_HEADERS = {"content-type": "application/json"}

ABSENT = object()  # "leave the key out", as opposed to None ("the key set to null")


# --------------------------------------------------------------------------------------------
# JSON and chunk builders


def enc(obj: Any, style: str = "compact") -> str:
    """One JSON payload; both spellings occur in real streams."""
    if style == "compact":
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    if style == "spaced":
        return json.dumps(obj, ensure_ascii=False)
    raise ValueError(style)


def usage(prompt: int, completion: int, total: int | None = None) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion if total is None else total,
    }


class Stream:
    """Builds the chunks of one stream: same `id`, `created` and `model` throughout."""

    def __init__(self, id: str, model: str = MODEL, created: Any = CREATED, **extra: Any):
        self.id, self.model, self.created, self.extra = id, model, created, extra

    def chunk(self, choices: list[dict[str, Any]], usage: Any = ABSENT, **top: Any) -> dict[str, Any]:
        c: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
        }
        c.update(self.extra)
        c["choices"] = choices
        if usage is not ABSENT:
            c["usage"] = usage
        for k, v in top.items():
            if v is ABSENT:
                c.pop(k, None)
            else:
                c[k] = v
        return c

    def delta(
        self,
        delta: dict[str, Any],
        finish: str | None = None,
        *,
        index: int = 0,
        usage: Any = ABSENT,
        choice_extra: dict[str, Any] | None = None,
        finish_key: bool = True,
        **top: Any,
    ) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": index, "delta": delta}
        if choice_extra:
            choice.update(choice_extra)
        if finish_key:
            choice["finish_reason"] = finish
        return self.chunk([choice], usage=usage, **top)

    # the usual shapes ----------------------------------------------------------------------

    def role(self, content: Any = "", index: int = 0, **kw: Any) -> dict[str, Any]:
        d: dict[str, Any] = {"role": "assistant"}
        if content is not ABSENT:
            d["content"] = content
        return self.delta(d, index=index, **kw)

    def text(self, s: str, index: int = 0, **kw: Any) -> dict[str, Any]:
        return self.delta({"content": s}, index=index, **kw)

    def finish(self, reason: str, u: Any = ABSENT, index: int = 0, **kw: Any) -> dict[str, Any]:
        return self.delta({}, reason, index=index, usage=u, **kw)


def text_chunks(s: Stream, pieces: list[str], reason: str = "stop", prompt: int = 12) -> list[Any]:
    """Role chunk, one chunk per piece, finish chunk with usage: the plain sansa stream."""
    return [s.role(), *(s.text(p) for p in pieces), s.finish(reason, usage(prompt, len(pieces)))]


def tool_call_head(index: int, call_id: str, name: str, arguments: str = "") -> dict[str, Any]:
    return {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def tool_call_args(index: int, fragment: str) -> dict[str, Any]:
    return {"index": index, "function": {"arguments": fragment}}


# --------------------------------------------------------------------------------------------
# Framing: payloads -> bytes

DONE = "[DONE]"


def frame(
    payloads: Iterable[Any],
    *,
    style: str = "compact",
    eol: str = "\n",
    done: bool = True,
    data_prefix: str = "data: ",
) -> bytes:
    """`data: <payload>` + blank line per event; dicts are JSON-encoded, strings sent as is."""
    out = []
    items = list(payloads) + ([DONE] if done else [])
    for p in items:
        text = p if isinstance(p, str) else enc(p, style)
        out.append(f"{data_prefix}{text}{eol}{eol}")
    return "".join(out).encode("utf-8")


def event_offsets(body: bytes, sep: bytes = b"\n\n") -> list[int]:
    """Byte offsets where each event of an LF-framed body starts."""
    offsets, pos = [0], 0
    while True:
        i = body.find(sep, pos)
        if i < 0 or i + len(sep) >= len(body):
            return offsets
        pos = i + len(sep)
        offsets.append(pos)


# --------------------------------------------------------------------------------------------
# Requests and schemas used by several fixtures

MESSAGES = [{"role": "user", "content": "Say hello in a few words."}]

WEATHER_PARAMS = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "City and country"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["location"],
    "additionalProperties": False,
}
TIME_PARAMS = {
    "type": "object",
    "properties": {"timezone": {"type": "string"}},
    "required": ["timezone"],
    "additionalProperties": False,
}


def tool(name: str, params: dict[str, Any], description: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": description, "parameters": params}}


WEATHER_TOOL = tool("get_weather", WEATHER_PARAMS, "Current weather for a location")
TIME_TOOL = tool("get_time", TIME_PARAMS, "Current local time in a time zone")


def request(**kw: Any) -> dict[str, Any]:
    r: dict[str, Any] = {"model": MODEL, "messages": kw.pop("messages", MESSAGES), "stream": True}
    r.update(kw)
    return r


def tool_request(*tools: dict[str, Any]) -> dict[str, Any]:
    return request(
        messages=[{"role": "user", "content": "What's the weather in Paris?"}],
        tools=list(tools) or [WEATHER_TOOL],
        tool_choice="auto",
    )


CITY_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "population": {"type": "integer", "minimum": 0},
        "landmarks": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "population", "landmarks"],
    "additionalProperties": False,
}


def structured_request() -> dict[str, Any]:
    return request(
        messages=[{"role": "user", "content": "Describe Paris as JSON."}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "city", "schema": CITY_SCHEMA, "strict": True},
        },
    )


REASONING_REQUEST = request(
    messages=[{"role": "user", "content": "Is 97 a prime number?"}],
    reasoning={"effort": "low"},
)

# --------------------------------------------------------------------------------------------
# The fixture table

FILES: dict[Path, bytes] = {}


def add(rel: str, body: bytes, sidecar: dict[str, Any] | None) -> None:
    """Register fixtures/<rel>.sse (+ .json when sidecar is not None)."""
    base = FIXTURES / rel
    for path, data in ((base.with_suffix(".sse"), body),) + (
        ((base.with_suffix(".json"), side_bytes(sidecar)),) if sidecar is not None else ()
    ):
        if path in FILES:
            raise SystemExit(f"duplicate fixture {path}")
        FILES[path] = data


def side_bytes(sidecar: dict[str, Any]) -> bytes:
    return (pretty(sidecar) + "\n").encode("utf-8")


def pretty(value: Any, indent: int = 0, width: int = 100) -> str:
    """JSON with two-space indentation, but any list or object that fits on its line inline."""
    flat = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, (dict, list)) or indent + len(flat) <= width - 10 or not value:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {pretty(v, indent + 2, width)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + pretty(v, indent + 2, width) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def ok(
    name: str,
    body: bytes,
    why: str,
    *,
    warn: list[str] | None = None,
    profile: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = SSE_HEADERS,
    req: dict[str, Any] | None = None,
    **extra: Any,
) -> None:
    side: dict[str, Any] = {"why": why, "expect": {"fail": [], "warn": warn or []}}
    if profile:
        side["profile"] = profile
    side["status"] = status
    if headers is not None:
        side["headers"] = headers
    if req is not None:
        side["request"] = req
    side.update(extra)
    add(f"conformant/{name}", body, side)


def bad(
    rule: str,
    name: str,
    body: bytes,
    why: str,
    *,
    fail: list[str] | None = None,
    warn: list[str] | None = None,
    profile: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = SSE_HEADERS,
    req: dict[str, Any] | None = None,
    **extra: Any,
) -> None:
    """A violation of `rule`: by default it fails `rule` (error) and nothing else."""
    if fail is None and warn is None:
        fail = [rule]
    expect = {"fail": fail or [], "warn": warn or []}
    side: dict[str, Any] = {"why": why, "expect": expect}
    if profile:
        side["profile"] = profile
    side["status"] = status
    if headers is not None:
        side["headers"] = headers
    if req is not None:
        side["request"] = req
    side.update(extra)
    add(f"violations/{rule}/{name}", body, side)


def warn_only(rule: str, name: str, body: bytes, why: str, **kw: Any) -> None:
    bad(rule, name, body, why, fail=[], warn=[rule], **kw)


HELLO = ["Hello", "! How", " can I", " help you", " today?"]


def hello(id: str, **kw: Any) -> tuple[Stream, list[Any]]:
    s = Stream(id, **kw)
    return s, text_chunks(s, HELLO)


# --------------------------------------------------------------------------------------------
# conformant/


def conformant() -> None:
    # plain text, with arrival times spread over ~1 s from 0.2 s
    s = Stream("gen-conf-text-01")
    pieces = ["Bonjour", " ! Here", " is a short", " answer —", " with a café", " and a 👋."]
    body = frame(text_chunks(s, pieces))
    offs = event_offsets(body)
    timing = [[o, round(0.2 + i * 1.0 / (len(offs) - 1), 3)] for i, o in enumerate(offs)]
    ok("text", body, "Plain text: role chunk, content chunks, finish chunk with empty delta, "
       "`stop` and usage, then [DONE]; arrival times spread over a second.",
       req=request(), timing=timing, headers_at=0.18)

    s = Stream("gen-conf-length-01")
    pieces = ["The history", " of Paris", " begins", " with the", " Parisii,", " a Celtic"]
    ok("max-tokens-length", frame(text_chunks(s, pieces, reason="length"), style="spaced"),
       "Generation cut by max_tokens: finish_reason `length`, usage still on the last chunk.",
       req=request(messages=[{"role": "user", "content": "Tell me the history of Paris."}], max_tokens=6))

    # single tool call, arguments in several fragments
    s = Stream("gen-conf-tool-01")
    frags = ['{"location"', ': "Par', 'is, Fra', 'nce", "un', 'it": "cel', 'sius"}']
    chunks = [
        s.role(None),
        s.delta({"tool_calls": [tool_call_head(0, "call_wx_0001", "get_weather")]}),
        *(s.delta({"tool_calls": [tool_call_args(0, f)]}) for f in frags),
        s.finish("tool_calls", usage(61, 24)),
    ]
    ok("tool-call", frame(chunks), "One tool call: the first fragment names it (index, id, "
       "type, function.name, empty arguments), later fragments add arguments only; finish "
       "`tool_calls`; the arguments satisfy the declared schema.", req=tool_request())

    # parallel tool calls, interleaved
    s = Stream("gen-conf-tools-parallel-01")
    chunks = [
        s.role(None),
        s.delta({"tool_calls": [tool_call_head(0, "call_wx_paris", "get_weather")]}),
        s.delta({"tool_calls": [tool_call_head(1, "call_tm_tokyo", "get_time")]}),
        s.delta({"tool_calls": [tool_call_args(0, '{"locat')]}),
        s.delta({"tool_calls": [tool_call_args(1, '{"timez')]}),
        s.delta({"tool_calls": [tool_call_args(0, 'ion": "Paris, France"')]}),
        s.delta({"tool_calls": [tool_call_args(1, 'one": "Asia/Tokyo"}')]}),
        s.delta({"tool_calls": [tool_call_args(0, "}")]}),
        s.finish("tool_calls", usage(88, 41)),
    ]
    ok("tool-calls-parallel", frame(chunks, style="spaced"),
       "Two parallel tool calls (indexes 0 and 1) whose fragments interleave; both declared.",
       req=tool_request(WEATHER_TOOL, TIME_TOOL))

    # reasoning_details before content
    s = Stream("gen-conf-reasoning-01")
    thoughts = ["97 is odd", " and not divisible by 3, 5 or 7;", " 11² = 121 > 97, so it is prime."]
    chunks = [s.role()]
    chunks += [
        s.delta({"reasoning_details": [{"type": "reasoning.text", "text": t, "format": "unknown", "index": 0}]})
        for t in thoughts
    ]
    chunks += [s.text("Yes,"), s.text(" 97 is"), s.text(" prime."), s.finish("stop", usage(14, 31))]
    ok("reasoning-details", frame(chunks),
       "Reasoning in `delta.reasoning_details` items of type `reasoning.text`, all before the content.",
       req=REASONING_REQUEST)

    s = Stream("gen-conf-reasoning-02")
    chunks = [s.role()]
    chunks += [s.delta({"reasoning": t}) for t in thoughts]
    chunks += [s.text("Yes,"), s.text(" 97 is"), s.text(" prime."), s.finish("stop", usage(14, 31))]
    ok("reasoning-string", frame(chunks, style="spaced"),
       "Reasoning in the `delta.reasoning` string field, before the content.", req=REASONING_REQUEST)

    # structured output, content fragments split mid-token
    s = Stream("gen-conf-structured-01")
    frags = ['{"na', 'me": "Par', 'is", "popul', 'ation": 2102', '650, "landmarks": ["Eif',
             'fel Tower", "Lou', 'vre"]}']
    ok("structured-output", frame([s.role(), *(s.text(f) for f in frags), s.finish("stop", usage(40, 27))]),
       "Structured output: a JSON object valid against the requested json_schema, streamed in "
       "fragments split inside keys, strings and numbers.", req=structured_request())

    # mid-stream error (sansa)
    s = Stream("gen-conf-midstream-error-01")
    err = {"error": {"code": "provider_error", "message": "Provider disconnected"}, "choices": [{"finish_reason": "error"}]}
    ok("midstream-error", frame([s.role(), s.text("Once upon"), s.text(" a time"), err], style="spaced"),
       "Mid-stream error: some content, then the error event finishing the choice with `error`, "
       "then [DONE]; no usage is expected on a stream cut short.", req=request())

    # pre-stream error
    body = enc({"error": {"code": "insufficient_credits",
                          "message": "Insufficient credits. Add more using https://example.com/credits"}},
               "spaced").encode()
    ok("prestream-error-402", body, "Pre-stream error: HTTP 402 with a JSON error body carrying "
       "string `code` and `message`, no event stream.", status=402, headers=JSON_HEADERS, req=request())

    # n = 2
    s = Stream("gen-conf-n2-01")
    chunks = [
        s.role(index=0), s.role(index=1),
        s.text("Hi", index=0), s.text("Hello", index=1),
        s.text(" there!", index=0), s.text(" world!", index=1),
        s.finish("stop", index=0),
        s.finish("stop", usage(10, 7), index=1),
    ]
    ok("n2", frame(chunks), "Two choices (n=2): each gets its own role-first delta and its own "
       "finish; usage rides the last chunk.", req=request(n=2))

    # ----- legal but tricky framings (all the same plain stream underneath)
    s = Stream("gen-conf-crlf-01")
    ok("framing-crlf", frame(text_chunks(s, HELLO), eol="\r\n"),
       "Every line ends in CRLF.", req=request())

    s = Stream("gen-conf-cr-01")
    body = frame(text_chunks(s, HELLO), eol="\r")
    body = body[:-1] + b"\r\n"  # the last blank line ends in CRLF: no lone CR at the very end
    ok("framing-cr", body, "Every line ends in a lone CR, except the final blank line, which ends "
       "in CRLF so the body does not end in a lone CR.", req=request())

    s = Stream("gen-conf-keepalive-01")
    ch = text_chunks(s, HELLO)
    parts = [": PROCESSING\n\n", ": PROCESSING\n\n"]
    for i, c in enumerate(ch):
        if i in (1, 3):
            parts.append(": PROCESSING\n\n")
        if i == 4:
            parts.append(f": PROCESSING\ndata: {enc(c)}\n\n")  # a comment line inside an event block
        else:
            parts.append(f"data: {enc(c)}\n\n")
    parts.append(": PROCESSING\n\ndata: [DONE]\n\n")
    ok("framing-comments", "".join(parts).encode(),
       "Comment keep-alives (`: PROCESSING`) before the first event, between events and inside "
       "an event block; no `id:` lines, so comment-only blocks are harmless.", req=request())

    s = Stream("gen-conf-nospace-01")
    ok("framing-data-nospace", frame(text_chunks(s, HELLO), data_prefix="data:"),
       "`data:value` with no space after the colon, on every event including [DONE].", req=request())

    s = Stream("gen-conf-multiline-01")
    parts = []
    for c in text_chunks(s, HELLO):
        lines = json.dumps(c, indent=1, ensure_ascii=False).split("\n")
        parts.append("".join(f"data: {ln}\n" for ln in lines) + "\n")
    parts.append("data: [DONE]\n\n")
    ok("framing-multiline-data", "".join(parts).encode(),
       "Each JSON object is pretty-printed over several `data:` lines; the LF that joins them "
       "falls where JSON allows whitespace.", req=request())

    s = Stream("gen-conf-bom-01")
    ok("framing-bom", b"\xef\xbb\xbf" + frame(text_chunks(s, HELLO)),
       "A leading UTF-8 BOM: legal (skipped by the standard) but the OpenAI Python SDK and "
       "httpx-sse lose the first event.", warn=["compat.no-bom"], req=request())

    s = Stream("gen-conf-trailing-cr-01")
    ok("framing-trailing-cr", frame(text_chunks(s, HELLO), eol="\r"),
       "Lone-CR line endings up to the very last byte: the final CR is a complete line ending, "
       "but eventsource-parser waits for an LF that never comes.", warn=["compat.no-trailing-cr"],
       req=request())

    # mixed line endings; a CR is never followed by an LF that belongs to the next line
    s = Stream("gen-conf-mixed-eol-01")
    ch = text_chunks(s, HELLO)
    endings = [("\n", "\n"), ("\r\n", "\r\n"), ("\r", "\r"), ("\n", "\r\n"), ("\r", "\r\n"), ("\r\n", "\n"), ("\r", "\r")]
    parts = [f"data: {enc(c)}{a}{b}" for c, (a, b) in zip(ch, endings)]
    parts.append("data: [DONE]\r\n\n")
    ok("framing-mixed-eol", "".join(parts).encode(),
       "Line endings mix LF, CRLF and CR from line to line (never a CR directly before an LF "
       "that ends the next line).", req=request())

    # curl capture: body only, no sidecar; must give no finding at all
    s = Stream("gen-conf-curl-01")
    add("conformant/curl-capture", frame(text_chunks(s, ["Sure", ", here", " you are."]), style="spaced"), None)

    # ----- the revised spec (2026-11-29): streams that narrowly conform
    s = Stream("gen-conf-error-markers-01")
    ch = text_chunks(s, HELLO)
    for c, marker in zip(ch, [None, {}, "", False, 0, [], None]):
        c["error"] = marker
    ok("error-null-markers", frame(ch), "Every chunk carries an `error` key that reads as false (null, {}, \"\", "
       "false, 0, []): a no-error marker some gateways add (section 0), so no event is an error event.",
       req=request())

    s = Stream("gen-conf-reasoning-signature-01")
    chunks = [s.role()]
    chunks += [s.delta({"reasoning_details": [{"type": "reasoning.text", "text": t, "format": "anthropic-claude-v1",
                                               "index": 0}]}) for t in thoughts]
    chunks.append(s.delta({"reasoning_details": [{"type": "reasoning.text", "signature": "EqQBCkYIBRgCKkD0c2lnbmF0dXJl",
                                                  "format": "anthropic-claude-v1", "index": 0}]}))
    chunks += [s.text("Yes,"), s.text(" 97 is prime."), s.finish("stop", usage(14, 31))]
    ok("reasoning-signature-only", frame(chunks),
       "A thinking block closed by a signature-only `reasoning.text` item (no `text`), as OpenRouter sends it "
       "(section 8); every reasoning_details entry has an index, as compat.list-delta-index asks.",
       req=REASONING_REQUEST)

    s = Stream("gen-conf-list-once-01")
    cite = {"type": "url_citation", "url_citation": {"url": "https://example.com/paris", "title": "Paris",
                                                     "start_index": 0, "end_index": 5}}
    chunks = [s.role(), s.delta({"reasoning_details": [{"type": "reasoning.text", "text": "Paris is a city."}]}),
              s.text("Paris"), s.text(" is the capital of France."), s.delta({"annotations": [cite]}),
              s.finish("stop", usage(9, 8))]
    ok("list-fields-once-without-index", frame(chunks, style="spaced"),
       "`reasoning_details` and `annotations` entries without `index`, but each list field appears in only one "
       "delta: nothing to merge, so compat.list-delta-index passes.", req=REASONING_REQUEST)

    # delivery: judged on the spread of the events, not on the time since the request
    def timed(body: bytes, times: list[float]) -> list[list[float]]:
        return [[o, round(t, 4)] for o, t in zip(event_offsets(body), times)]

    s = Stream("gen-conf-fast-model-01")
    tokens = [w for _ in range(30) for w in (" The", " river", " runs", " past", " the", " old", " mill", " and",
                                             " on", " to")]  # 300 tokens
    body = frame([s.role(), *(s.text(t) for t in tokens), s.finish("stop", usage(20, 300))])
    n = len(event_offsets(body))
    ok("text-fast-model", body, "300 tokens, one per event, streamed at 2,000 tokens/s (0.5 ms apart) after "
       "0.25 s: fast, but spread over 150 ms, so sse.incremental must not call it buffered (section 10).",
       req=request(), timing=timed(body, [0.25 + i * 0.0005 for i in range(n)]), headers_at=0.2)

    s = Stream("gen-conf-slow-start-01")
    pieces = [" word"] * 40
    body = frame([s.role(), *(s.text(p) for p in pieces), s.finish("stop", usage(20, 40))])
    n = len(event_offsets(body))
    ok("text-slow-start", body, "The first event arrives after 5 s (a model that thinks first), then 40 tokens "
       "at 30 tokens/s: a long wait is not buffering (section 10).",
       req=request(), timing=timed(body, [5.0 + i / 30 for i in range(n)]), headers_at=0.1)

    s = Stream("gen-conf-short-fast-01")
    body = frame(text_chunks(s, ["Hi", "!"]))
    ok("text-short-fast", body, "A five-event answer that arrives within 2 ms: too short to tell buffered from "
       "fast, so sse.incremental is not applicable (section 10).",
       req=request(), timing=timed(body, [0.3 + i * 0.0005 for i in range(5)]), headers_at=0.29)

    # ----- openai profile
    o = Stream("chatcmpl-GenConfOpenAI01", model="gpt-4.1-mini-2025-04-14",
               service_tier="default", system_fingerprint="fp_5c3a1e9b20")
    ob = ["q7Yx", "Hf2", "a9Lk", "Zp", "mW3e", "Tt", "RbX0", "sQ1"]

    def oc(delta: dict[str, Any], finish: str | None = None, n: int = 0) -> dict[str, Any]:
        return o.chunk([{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                       usage=None, obfuscation=ob[n])

    pieces = ["Hello", "!", " How can", " I help", " today?"]
    chunks = [oc({"role": "assistant", "content": "", "refusal": None}, n=0)]
    chunks += [oc({"content": p}, n=i + 1) for i, p in enumerate(pieces)]
    chunks.append(oc({}, "stop", n=6))
    chunks.append(o.chunk([], usage={
        "prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }, obfuscation=ob[7]))
    ok("openai-text-include-usage", frame(chunks), "OpenAI profile: `stream_options.include_usage` "
       "asked, so usage comes in one extra `choices: []` chunk after the finish; `usage: null`, "
       "`system_fingerprint` and `obfuscation` on every chunk.", profile="openai",
       req=request(model="gpt-4.1-mini", stream_options={"include_usage": True}))

    o = Stream("chatcmpl-GenConfOpenAI02", model="gpt-4.1-mini-2025-04-14", system_fingerprint="fp_5c3a1e9b20")
    oerr = {"error": {"message": "The server had an error while processing your request. Sorry about that!",
                      "type": "server_error", "param": None, "code": None}}
    chunks = [oc({"role": "assistant", "content": "", "refusal": None}, n=0), oc({"content": "Once"}, n=1),
              oc({"content": " upon a"}, n=2)]
    ok("openai-midstream-error", frame(chunks + [oerr], style="spaced", done=False),
       "OpenAI profile: a mid-stream `{\"error\": {...}}` event is the last event and no [DONE] follows.",
       profile="openai", req=request(model="gpt-4.1-mini"))

    body = frame(chunks, done=False) + b"event: error\ndata: " + enc(
        {"error": {"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"}}
    ).encode() + b"\n\n"
    ok("openai-midstream-error-event", body,
       "OpenAI profile: the mid-stream error arrives as an `event: error` block (with data) and ends the stream.",
       profile="openai", req=request(model="gpt-4.1-mini"))


# --------------------------------------------------------------------------------------------
# violations/


def v_request_and_prestream() -> None:
    r = "request.stream-options-accepted"
    so_req = request(stream_options={"include_usage": True})
    bad(r, "rejected-400", enc({"error": {"code": "invalid_request",
                                          "message": "Unrecognized request argument supplied: stream_options"}}).encode(),
        "Adding `stream_options` to a request that otherwise streams turned the answer into a 400 error.",
        status=400, headers=JSON_HEADERS, req=so_req, scenario="stream-options")
    bad(r, "rejected-422", enc({"error": {"code": "validation_error",
                                          "message": "stream_options: extra fields not permitted"}}, "spaced").encode(),
        "The server validates strictly and answers a request carrying `stream_options` with 422.",
        status=422, headers=JSON_HEADERS, req=so_req, scenario="stream-options")

    r = "error.pre-stream-shape"
    bad(r, "error-is-string", enc({"error": "bad key"}, "spaced").encode(),
        "The 401 body's `error` is a bare string, not an object with `code` and `message`.",
        status=401, headers=JSON_HEADERS, req=request())
    bad(r, "plain-text-body", b"Unauthorized\n",
        "The 401 body is plain text, not a JSON error object.",
        status=401, headers={"content-type": "text/plain; charset=utf-8"}, req=request())
    bad(r, "code-is-number", enc({"error": {"code": 402, "message": "Insufficient credits"}}).encode(),
        "`error.code` is a number (the HTTP status), where the sansa shape needs a string.",
        status=402, headers=JSON_HEADERS, req=request())

    r = "error.pre-stream-status"
    warn_only(r, "bad-key-400", enc({"error": {"code": "invalid_api_key", "message": "Invalid API key provided"}}).encode(),
              "The provoked bad-key error is answered with 400 instead of 401 or 403.",
              status=400, headers=JSON_HEADERS, req=request(), scenario="bad-key")
    warn_only(r, "invalid-params-500", enc({"error": {"code": "internal_error",
                                                      "message": "temperature must be between 0 and 2"}}, "spaced").encode(),
              "The provoked invalid-parameter error (temperature 7) is answered with 500 instead of 400 or 422.",
              status=500, headers=JSON_HEADERS, req=request(temperature=7), scenario="invalid-params")


def v_framing() -> None:
    r = "sse.content-type"
    s, ch = hello("gen-v-ctype-01")
    bad(r, "application-json", frame(ch), "A 200 event stream labelled `application/json`.",
        headers={"content-type": "application/json"}, req=request())
    s, ch = hello("gen-v-ctype-02")
    bad(r, "text-plain", frame(ch, style="spaced"), "A 200 event stream labelled `text/plain; charset=utf-8`.",
        headers={"content-type": "text/plain; charset=utf-8"}, req=request())

    r = "sse.utf8"
    for name, raw, why in [
        ("invalid-bytes", b"\xff\xfe", "The bytes FF FE (never valid UTF-8) sit inside a content string."),
        ("truncated-multibyte", b"caf\xc3", "A two-byte UTF-8 sequence is cut after its first byte (C3) inside a content string."),
        ("encoded-surrogate", b"\xed\xa0\x80", "A UTF-16 surrogate encoded as three bytes (ED A0 80, CESU-8 style) sits inside a content string."),
    ]:
        s, ch = hello(f"gen-v-utf8-{name}")
        body = frame(ch).replace(b'"content":" can I"', b'"content":" can ' + raw + b' I"')
        assert raw in body
        bad(r, name, body, why, req=request())

    r = "sse.json-payload"
    s, ch = hello("gen-v-json-01")
    bad(r, "plain-text-event", frame(ch[:3] + ["ping"] + ch[3:]),
        "A `data: ping` event between chunks is neither [DONE] nor a JSON object.", req=request())
    s, ch = hello("gen-v-json-02")
    # %-format, not an f-string: the text is a Python dict repr, every brace would need doubling
    pyrepr = "{'id': 'gen-v-json-02', 'object': 'chat.completion.chunk', 'created': %d, 'model': '%s', " \
             "'choices': [{'index': 0, 'delta': {'content': ' and'}, 'finish_reason': None}]}" % (CREATED, MODEL)  # noqa: UP031
    bad(r, "python-repr", frame(ch[:3] + [pyrepr] + ch[3:], style="spaced"),
        "One event carries a Python dict repr (single quotes, None) instead of JSON.", req=request())
    s, ch = hello("gen-v-json-03")
    body = frame(ch[:2], done=False) + b"data:\n\n" + frame(ch[2:])
    bad(r, "empty-data", body, "A `data:` line with an empty value dispatches an event whose payload "
        "is the empty string.", req=request())

    for name, constant in (("nan", "NaN"), ("infinity", "-Infinity")):
        s, ch = hello(f"gen-v-json-{name}")
        body = frame(ch[:-1], done=False)
        body += f'data: {enc(ch[-1])[:-1]},"x_score":{constant}}}\n\ndata: [DONE]\n\n'.encode()
        bad(r, name, body, f"The last chunk carries `{constant}`: Python's json module reads it, but it is not "
            "JSON (JSON.parse and strict decoders reject it), whatever library decodes it.",
            fail=[r, "usage.present-last", "chunk.finish-reason-once"], req=request())

    r = "sse.done"
    s, ch = hello("gen-v-done-01")
    bad(r, "missing", frame(ch, done=False), "The stream ends after the usage chunk without `data: [DONE]`.",
        req=request())
    s, ch = hello("gen-v-done-02")
    bad(r, "no-blank-line", frame(ch) [:-1],
        "`data: [DONE]` is the last line but no blank line follows it, so by WHATWG the block is "
        "discarded and no [DONE] event arrives.", req=request())
    s, ch = hello("gen-v-done-03")
    bad(r, "no-line-ending", frame(ch)[:-2],
        "The body ends in `data: [DONE]` with no line ending at all: the block is never dispatched.",
        req=request())

    r = "sse.nothing-after-done"
    s, ch = hello("gen-v-after-done-01")
    extra = s.text(" Anything else?")
    bad(r, "chunk-after-done", frame(ch) + frame([extra], done=False),
        "A content chunk arrives after [DONE].", req=request())
    s, ch = hello("gen-v-after-done-02")
    bad(r, "second-done", frame(ch) + b"data: [DONE]\n\n", "A second `data: [DONE]` event follows the first.",
        req=request())
    s = Stream("gen-v-after-done-03")
    ch = [s.role(), *(s.text(p) for p in HELLO), s.finish("stop")]
    body = frame(ch) + frame([s.chunk([], usage=usage(12, 5))], done=False)
    bad(r, "usage-after-done", body, "The usage chunk comes after [DONE]; the finish chunk before "
        "[DONE] has none, so `usage.present-last` fails as well.",
        fail=["sse.nothing-after-done", "usage.present-last"], req=request())

    r = "sse.incremental"
    s = Stream("gen-v-incremental-01")
    words = ("Buffered proxies hold every byte until the upstream finishes, "
             "so the user sees nothing and then everything at once.").split(" ")
    pieces = [words[0]] + [" " + w for w in words[1:]]
    body = frame(text_chunks(s, pieces))
    warn_only(r, "one-burst", body, f"All {len(pieces) + 3} events arrive in one burst at 3.0 s, "
              "after the whole answer was generated (a buffering proxy).",
              req=request(), timing=[[0, 3.0]], headers_at=0.15)
    s = Stream("gen-v-incremental-02")
    body = frame(text_chunks(s, pieces))
    offs = event_offsets(body)
    warn_only(r, "role-then-burst", body, "The role chunk arrives at 0.2 s (flushed with the headers), then the "
              f"other {len(offs) - 1} events in one write at 2.5 s: a proxy that buffers after the first event.",
              req=request(), timing=[[0, 0.2], [offs[1], 2.5]], headers_at=0.15)


def v_chunks() -> None:
    r = "chunk.schema"
    s = Stream("gen-v-schema-01", created=str(CREATED))
    bad(r, "created-string", frame(text_chunks(s, HELLO)),
        "`created` is a string on every chunk, not an integer.", req=request())
    s, ch = hello("gen-v-schema-02")
    ch[2]["object"] = "chat.completion"
    bad(r, "object-wrong", frame(ch, style="spaced"),
        "One chunk says `object: \"chat.completion\"` instead of `chat.completion.chunk`.", req=request())
    s, ch = hello("gen-v-schema-03")
    ch[2]["choices"][0]["delta"]["content"] = [{"type": "text", "text": "! How"}]
    bad(r, "content-array", frame(ch),
        "`delta.content` is an array of typed parts (Mistral style), not a string.", req=request())

    r = "chunk.consistent-id"
    s, ch = hello("gen-v-cid-01")
    ch[3]["id"] = "gen-v-cid-01b"
    ch[4]["id"] = "gen-v-cid-01b"
    warn_only(r, "id-changes", frame(ch), "The chunk `id` changes in the middle of the stream.", req=request())
    s, ch = hello("gen-v-cid-02")
    for c in ch[3:]:
        c["created"] = CREATED + 1
    warn_only(r, "created-changes", frame(ch, style="spaced"),
              "`created` moves on by one second halfway through the stream.", req=request())
    s, ch = hello("gen-v-cid-03")
    for c in ch[1:]:
        c["model"] = "anthropic/claude-sonnet-4"
    warn_only(r, "model-changes", frame(ch), "`model` switches from the router alias to the routed "
              "model after the first chunk.", req=request())

    r = "chunk.role-first"
    s = Stream("gen-v-rolefirst-01")
    ch = [*(s.text(p) for p in HELLO), s.finish("stop", usage(12, 5))]
    bad(r, "no-role", frame(ch), "No delta carries `role`: the first delta is plain content.", req=request())
    s, ch = hello("gen-v-rolefirst-02")
    ch[0]["choices"][0]["delta"]["role"] = "user"
    bad(r, "role-user", frame(ch), "The first delta says `role: \"user\"`.", req=request())
    s, ch = hello("gen-v-rolefirst-03")
    ch[0]["choices"][0]["delta"]["role"] = None
    bad(r, "role-null", frame(ch, style="spaced"), "The first delta has `role: null`, which counts as absent.",
        req=request())

    r = "chunk.role-only-first"
    s, ch = hello("gen-v-roleonly-01")
    for c in ch[1:-1]:
        c["choices"][0]["delta"] = {"role": "assistant", **c["choices"][0]["delta"]}
    bad(r, "role-every-chunk", frame(ch), "`role: \"assistant\"` is repeated on every content delta (Ollama style).",
        req=request())
    s, ch = hello("gen-v-roleonly-02")
    ch[-1]["choices"][0]["delta"] = {"role": "assistant"}
    bad(r, "role-on-finish", frame(ch, style="spaced"), "The finish chunk's delta carries `role` again.",
        req=request())

    r = "chunk.finish-reason-enum"
    s, ch = hello("gen-v-enum-01")
    ch[-1]["choices"][0]["finish_reason"] = "end_turn"
    bad(r, "end-turn", frame(ch), "`finish_reason: \"end_turn\"` (Anthropic's stop reason leaked through).",
        req=request())
    s, ch = hello("gen-v-enum-02")
    ch[-1]["choices"][0]["finish_reason"] = "content_filter"
    bad(r, "content-filter", frame(ch), "`content_filter` is an OpenAI finish reason the sansa profile "
        "does not allow.", req=request())
    s, ch = hello("gen-v-enum-03")
    ch[-1]["choices"][0]["finish_reason"] = "STOP"
    bad(r, "upper-case", frame(ch, style="spaced"), "`finish_reason: \"STOP\"` (Gemini casing); the enum is lower case.",
        req=request())

    r = "chunk.finish-reason-once"
    s = Stream("gen-v-once-01")
    ch = [s.role(), *(s.text(p) for p in HELLO[:-1]), s.delta({"content": HELLO[-1]}, "stop"),
          s.finish("stop", usage(12, 5))]
    bad(r, "finished-twice", frame(ch), "The last content chunk finishes with `stop` and the usage "
        "chunk finishes the same choice with `stop` again.", req=request())
    s, ch = hello("gen-v-once-02")
    ch[-1]["choices"][0]["finish_reason"] = None
    bad(r, "never-finished", frame(ch, style="spaced"), "No chunk carries a non-null `finish_reason`: the "
        "usage chunk has `finish_reason: null`.", req=request())
    s = Stream("gen-v-once-03")
    ch = [s.role(), *(s.text(p) for p in HELLO[:3]), s.finish("stop"), s.text(" help you"),
          s.delta({}, None, usage=usage(12, 4))]
    bad(r, "content-after-finish", frame(ch), "After its `stop` the choice comes back with more content.",
        req=request())

    r = "compat.finish-reason-key"
    s, ch = hello("gen-v-frkey-01")
    for c in ch[:-1]:
        del c["choices"][0]["finish_reason"]
    warn_only(r, "omitted-until-finish", frame(ch), "Non-final choices leave out the `finish_reason` key "
              "instead of sending null (a serializer that drops nulls).", req=request())
    s, ch = hello("gen-v-frkey-02")
    del ch[0]["choices"][0]["finish_reason"]
    warn_only(r, "omitted-on-role-chunk", frame(ch, style="spaced"),
              "Only the role chunk's choice lacks the `finish_reason` key.", req=request())


def v_usage() -> None:
    r = "usage.present-last"
    s = Stream("gen-v-upl-01")
    ch = [s.role(), *(s.text(p) for p in HELLO), s.finish("stop")]
    bad(r, "no-usage", frame(ch), "No chunk carries usage.", req=request())
    s, ch = hello("gen-v-upl-02")
    ch[-1]["usage"] = None
    bad(r, "usage-null", frame(ch, style="spaced"), "The last chunk has `usage: null`, which counts as absent.",
        req=request())
    s = Stream("gen-v-upl-03")
    ch = [s.role(), *(s.text(p) for p in HELLO), s.finish("stop"), s.delta({}, None)]
    bad(r, "trailing-chunk-without-usage", frame(ch), "After the finish an empty trailing chunk "
        "arrives; neither it nor any other chunk carries usage.", req=request())

    r = "usage.only-last"
    s = Stream("gen-v-uol-01")
    pieces = HELLO
    ch = [s.role(usage=usage(12, 0))]
    ch += [s.text(p, usage=usage(12, i + 1)) for i, p in enumerate(pieces)]
    ch.append(s.finish("stop", usage(12, len(pieces))))
    bad(r, "usage-every-chunk", frame(ch), "Every chunk carries a running usage object (Perplexity style).",
        req=request())
    s, ch = hello("gen-v-uol-02")
    ch[0]["usage"] = usage(12, 0)
    bad(r, "usage-first-and-last", frame(ch, style="spaced"),
        "The role chunk carries usage as well as the last chunk.", req=request())

    r = "usage.totals"
    s, ch = hello("gen-v-totals-01")
    ch[-1]["usage"] = usage(12, 5, 40)
    bad(r, "total-mismatch", frame(ch), "`total_tokens` is 40 but prompt + completion is 17 (reasoning "
        "tokens counted in the total only).", req=request())
    s, ch = hello("gen-v-totals-02")
    ch[-1]["usage"] = usage(12, -5)
    bad(r, "negative", frame(ch, style="spaced"), "`completion_tokens` is -5 (total 7 still equals the sum).",
        req=request())
    s, ch = hello("gen-v-totals-03")
    ch[-1]["usage"] = {"prompt_tokens": 12, "completion_tokens": 5.5, "total_tokens": 17.5}
    bad(r, "fractional", frame(ch), "`completion_tokens` is 5.5, not an integer (the total matches the sum).",
        req=request())


def v_errors() -> None:
    r = "error.mid-stream-shape"
    cases = [
        ("code-missing", {"error": {"message": "Provider disconnected"}, "choices": [{"finish_reason": "error"}]},
         "The error event's `error` has `message` but no `code`."),
        ("code-number", {"error": {"code": 502, "message": "Provider disconnected"}, "choices": [{"finish_reason": "error"}]},
         "The error event's `error.code` is a number (502), not a string."),
        ("no-choices", {"error": {"code": "provider_error", "message": "Provider disconnected"}},
         "The error event has no `choices[0].finish_reason == \"error\"` (it still finishes the open choice)."),
    ]
    for i, (name, err, why) in enumerate(cases):
        s = Stream(f"gen-v-errshape-0{i + 1}")
        bad(r, name, frame([s.role(), s.text("Once upon"), s.text(" a time"), err], style="compact" if i % 2 else "spaced"),
            why, req=request())

    s = Stream("gen-v-errshape-04")
    bad(r, "empty-choices", frame([s.role(), s.text("Once upon"),
                                   {"error": {"code": "provider_error", "message": "Provider disconnected"}, "choices": []}]),
        "The error event's `choices` is empty: it fails the shape, yet still finishes the open choice, so "
        "chunk.finish-reason-once reports nothing more (section 6).", req=request())

    r = "error.done-after"
    err = {"error": {"code": "provider_error", "message": "Provider disconnected"}, "choices": [{"finish_reason": "error"}]}
    s = Stream("gen-v-errdone-01")
    bad(r, "chunk-between-error-and-done", frame([s.role(), s.text("Once upon"), err, s.delta({}, None)]),
        "An (empty) chunk sits between the error event and [DONE].", req=request())
    s = Stream("gen-v-errdone-02")
    bad(r, "no-done", frame([s.role(), s.text("Once upon"), err], done=False),
        "The stream ends right after the error event without [DONE] (which also fails `sse.done`).",
        fail=["error.done-after", "sse.done"], req=request())


def v_tools() -> None:
    def finish(s: Stream, reason: str = "tool_calls") -> dict[str, Any]:
        return s.finish(reason, usage(61, 24))

    def call(s: Stream, head: dict[str, Any], frags: list[str], idx: int = 0) -> list[dict[str, Any]]:
        return [s.delta({"tool_calls": [head]})] + [s.delta({"tool_calls": [tool_call_args(idx, f)]}) for f in frags]

    paris = ['{"location": ', '"Paris, France"}']

    r = "tools.index"
    s = Stream("gen-v-tindex-01")
    whole = {"id": "call_wx_0001", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"location": "Paris, France"}'}}
    bad(r, "index-missing", frame([s.role(None), s.delta({"tool_calls": [whole]}), finish(s)]),
        "The whole tool call arrives in one entry without `index` (Gemini/Mistral style).", req=tool_request())
    s = Stream("gen-v-tindex-02")
    head = tool_call_head(0, "call_wx_0001", "get_weather")
    head["index"] = "0"
    frags = [{"index": "0", "function": {"arguments": f}} for f in paris]
    bad(r, "index-string", frame([s.role(None), s.delta({"tool_calls": [head]}),
                                  *(s.delta({"tool_calls": [f]}) for f in frags), finish(s)], style="spaced"),
        "Every tool-call entry has `index: \"0\"`, a string, not an integer.", req=tool_request())

    r = "tools.index-dense"
    s = Stream("gen-v-dense-01")
    bad(r, "starts-at-1", frame([s.role(None), *call(s, tool_call_head(1, "call_wx_0001", "get_weather"), paris, 1),
                                 finish(s)]),
        "The only tool call has `index: 1` (Anthropic content-block numbering); indexes must start at 0.",
        req=tool_request())
    s = Stream("gen-v-dense-02")
    ch = [s.role(None), *call(s, tool_call_head(0, "call_wx_0001", "get_weather"), paris, 0),
          *call(s, tool_call_head(2, "call_tm_0002", "get_time"), ['{"timezone": "Europe/Paris"}'], 2), finish(s)]
    bad(r, "gap", frame(ch, style="spaced"), "Two calls with indexes 0 and 2: index 1 is skipped.",
        req=tool_request(WEATHER_TOOL, TIME_TOOL))
    s = Stream("gen-v-dense-03")
    ch = [s.role(None), *call(s, tool_call_head(1, "call_tm_0002", "get_time"), ['{"timezone": "Europe/Paris"}'], 1),
          *call(s, tool_call_head(0, "call_wx_0001", "get_weather"), paris, 0), finish(s)]
    bad(r, "out-of-order", frame(ch), "Call index 1 appears before call index 0.",
        req=tool_request(WEATHER_TOOL, TIME_TOOL))

    r = "tools.first-fragment"
    s = Stream("gen-v-ff-01")
    head = tool_call_head(0, "call_wx_0001", "get_weather")
    del head["id"]
    bad(r, "missing-id", frame([s.role(None), *call(s, head, paris), finish(s)]),
        "The first fragment of the call has no `id`.", req=tool_request())
    s = Stream("gen-v-ff-02")
    ch = [s.role(None), s.delta({"tool_calls": [tool_call_head(0, "call_wx_0001", "get_weather")]}),
          s.delta({"tool_calls": [tool_call_args(0, paris[0])]}),
          s.delta({"tool_calls": [{"index": 0, "function": {"name": "get_forecast", "arguments": paris[1]}}]}),
          finish(s)]
    bad(r, "name-changed", frame(ch, style="spaced"), "A later fragment renames the call from `get_weather` "
        "to `get_forecast` (both declared, with the same parameters).",
        req=tool_request(WEATHER_TOOL, tool("get_forecast", WEATHER_PARAMS, "Weather forecast for a location")))
    s = Stream("gen-v-ff-03")
    head = tool_call_head(0, "call_wx_0001", "get_weather")
    del head["type"]
    bad(r, "missing-type", frame([s.role(None), *call(s, head, paris), finish(s)]),
        "The first fragment of the call has no `type: \"function\"`.", req=tool_request())
    s = Stream("gen-v-ff-04")
    ch = [s.role(None), s.delta({"tool_calls": [tool_call_head(0, "call_wx_0001", "get_weather")]}),
          s.delta({"tool_calls": [{"index": 0, "id": "call_wx_9999", "function": {"arguments": paris[0]}}]}),
          s.delta({"tool_calls": [tool_call_args(0, paris[1])]}), finish(s)]
    bad(r, "id-changed", frame(ch), "A later fragment carries a different `id` for the same call index.",
        req=tool_request())

    r = "tools.arguments-json"
    s = Stream("gen-v-args-01")
    bad(r, "truncated", frame([s.role(None), *call(s, tool_call_head(0, "call_wx_0001", "get_weather"),
                                                   ['{"location": ', '"Paris, Fra']), finish(s)]),
        "The concatenated arguments stop mid-string: `{\"location\": \"Paris, Fra`.", req=tool_request())
    s = Stream("gen-v-args-02")
    now = tool("get_server_time", {"type": "object", "properties": {}}, "Server time, no arguments")
    bad(r, "empty-string", frame([s.role(None), s.delta({"tool_calls": [tool_call_head(0, "call_now_0001", "get_server_time")]}),
                                  finish(s)], style="spaced"),
        "A call without arguments sends `arguments: \"\"` and never `{}`.", req=tool_request(now))
    s = Stream("gen-v-args-03")
    bad(r, "sent-twice", frame([s.role(None), *call(s, tool_call_head(0, "call_wx_0001", "get_weather"),
                                                    paris + ['{"location": "Paris, France"}']), finish(s)]),
        "After streaming the arguments in fragments the server sends the whole object again, so "
        "the concatenation is two objects back to back.", req=tool_request())

    r = "tools.finish-reason"
    s = Stream("gen-v-tfr-01")
    bad(r, "stop-after-call", frame([s.role(None), *call(s, tool_call_head(0, "call_wx_0001", "get_weather"), paris),
                                     finish(s, "stop")]),
        "The choice streamed a tool call but finishes with `stop` (Gemini style).", req=tool_request())
    s = Stream("gen-v-tfr-02")
    bad(r, "tool-calls-without-call", frame([s.role(), s.text("It is sunny"), s.text(" in Paris."),
                                             finish(s, "tool_calls")], style="spaced"),
        "The choice streamed only text but finishes with `tool_calls`.", req=tool_request())

    r = "tools.declared"
    s = Stream("gen-v-decl-01")
    bad(r, "undeclared-name", frame([s.role(None), *call(s, tool_call_head(0, "call_tm_0001", "get_time"),
                                                         ['{"timezone": ', '"Europe/Paris"}']), finish(s)]),
        "The call names `get_time`, but the request declared only `get_weather`.", req=tool_request())
    s = Stream("gen-v-decl-02")
    bad(r, "no-tools-in-request", frame([s.role(None), *call(s, tool_call_head(0, "call_wx_0001", "get_weather"), paris),
                                         finish(s)], style="spaced"),
        "The model calls `get_weather` although the request declared no tools at all.",
        req=request(messages=[{"role": "user", "content": "What's the weather in Paris?"}]))

    r = "tools.arguments-schema"
    s = Stream("gen-v-aschema-01")
    warn_only(r, "missing-required", frame([s.role(None), *call(s, tool_call_head(0, "call_wx_0001", "get_weather"),
                                                                ['{"unit": ', '"celsius"}']), finish(s)]),
              "The arguments leave out the required `location`.", req=tool_request())
    s = Stream("gen-v-aschema-02")
    warn_only(r, "wrong-enum", frame([s.role(None), *call(s, tool_call_head(0, "call_wx_0001", "get_weather"),
                                                          ['{"location": "Paris", ', '"unit": "kelvin"}']), finish(s)],
                                     style="spaced"),
              "`unit` is `kelvin`, outside the declared enum.", req=tool_request())


def v_reasoning() -> None:
    def rd(t: str) -> dict[str, Any]:
        # with an index: reasoning_details over several deltas needs one (compat.list-delta-index)
        return {"reasoning_details": [{"type": "reasoning.text", "text": t, "index": 0}]}

    r = "reasoning.before-content"
    for i, (name, field, why) in enumerate([
        ("details-after-content", "reasoning_details", "`reasoning_details` arrive after the content has started."),
        ("reasoning-after-content", "reasoning", "`delta.reasoning` text arrives after the content has started."),
        ("reasoning-content-after-content", "reasoning_content",
         "`delta.reasoning_content` arrives after the content has started (DeepSeek field name)."),
    ]):
        s = Stream(f"gen-v-rbc-0{i + 1}")

        def reason(t: str) -> dict[str, Any]:  # called only within this iteration, so s and field are this one's
            return s.delta(rd(t) if field == "reasoning_details" else {field: t})  # noqa: B023

        ch = [s.role(), reason("97 is odd."), s.text("Yes,"), reason(" Checked 3, 5 and 7."),
              s.text(" it is prime."), s.finish("stop", usage(14, 20))]
        bad(r, name, frame(ch, style="compact" if i % 2 == 0 else "spaced"), why, req=REASONING_REQUEST)

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
        good = {"type": "reasoning.text", "text": " So it is prime."}
        ch = [s.role(), s.delta({"reasoning_details": [item, good]}),
              s.text("Yes, 97 is prime."), s.finish("stop", usage(14, 20))]
        bad(r, name, frame(ch, style="spaced" if i % 2 else "compact"), why, req=REASONING_REQUEST)


def v_structured() -> None:
    def stream(id: str, frags: list[str], style: str = "compact") -> bytes:
        s = Stream(id)
        return frame([s.role(), *(s.text(f) for f in frags), s.finish("stop", usage(40, 27))], style=style)

    r = "structured.partial-json"
    # Any content that parses as a whole has only valid-JSON prefixes, so this rule cannot fail
    # alone: every fixture here also fails structured.valid-json.
    both = ["structured.valid-json"]
    bad(r, "prose-before-json", stream("gen-v-pj-01", ["Here is", " the JSON:\n", '{"name": "Paris", ',
                                                        '"population": 2102650, "landmarks": []}']),
        "Prose precedes the JSON object, so early prefixes are no JSON prefix (and the whole does not parse).",
        fail=both, warn=[r], req=structured_request())
    bad(r, "code-fence", stream("gen-v-pj-02", ["```json\n", '{"name": "Paris", "population": 2102650, ',
                                                 '"landmarks": ["Louvre"]}', "\n```"], "spaced"),
        "The JSON is wrapped in a Markdown code fence.", fail=both, warn=[r], req=structured_request())

    r = "structured.valid-json"
    bad(r, "truncated", stream("gen-v-vj-01", ['{"name": "Par', 'is", "population": 21', '02650, "landm']),
        "The content stops inside the object (finish `stop`, not `length`): it never becomes valid JSON.",
        req=structured_request())
    s = Stream("gen-v-vj-02")
    bad(r, "empty", frame([s.role(), s.finish("stop", usage(40, 1))], style="spaced"),
        "The choice finishes with `stop` and no content at all: the empty string is not JSON.",
        req=structured_request())

    r = "structured.schema"
    bad(r, "missing-required", stream("gen-v-ss-01", ['{"name": "Pa', 'ris", "popul', 'ation": 2102650}']),
        "Valid JSON, but the required `landmarks` is missing.", req=structured_request())
    bad(r, "wrong-type", stream("gen-v-ss-02", ['{"name": "Paris", "population": "2.1 mil', 'lion", "landmarks": []}'],
                                "spaced"),
        "Valid JSON, but `population` is a string where the schema wants an integer.", req=structured_request())
    bad(r, "extra-property", stream("gen-v-ss-03", ['{"name": "Paris", "population": 2102650, ',
                                                     '"landmarks": [], "mayor": "Anne Hidalgo"}']),
        "Valid JSON, but it adds `mayor` although the schema says `additionalProperties: false`.",
        req=structured_request())


def v_compat() -> None:
    r = "compat.no-dataless-blocks"
    s, ch = hello("gen-v-dataless-01")
    body = frame(ch[:3], done=False) + b"event: ping\n\n" + frame(ch[3:])
    bad(r, "event-ping", body, "An `event: ping` block with no `data` line between chunks.", req=request())
    s, ch = hello("gen-v-dataless-02")
    body = b"retry: 3000\n\n" + frame(ch, style="spaced")
    bad(r, "lone-retry", body, "A lone `retry: 3000` block opens the stream.", req=request())
    s, ch = hello("gen-v-dataless-03")
    parts = [f"id: {i + 1}\ndata: {enc(c)}\n\n" for i, c in enumerate(ch)]
    parts[2] += "\n"  # one extra blank line after an event that carried an id
    body = ("".join(parts) + "data: [DONE]\n\n").encode()
    bad(r, "blank-line-after-id", body, "Events carry `id:` lines and one event is followed by an extra "
        "blank line: an empty block once an id has been seen.", req=request())
    s, ch = hello("gen-v-dataless-04")
    parts = [f"id: {i + 1}\ndata: {enc(c)}\n\n" for i, c in enumerate(ch)]
    parts[3] += ": keep-alive\n\n"
    body = ("".join(parts) + "data: [DONE]\n\n").encode()
    bad(r, "comment-block-after-id", body, "A comment-only keep-alive block follows events that carry "
        "`id:` lines.", req=request())

    r = "compat.no-bom"
    s, ch = hello("gen-v-bom-01")
    warn_only(r, "bom-crlf", b"\xef\xbb\xbf" + frame(ch, eol="\r\n", style="spaced"),
              "The body starts with a UTF-8 BOM (EF BB BF), otherwise a conformant CRLF stream.", req=request())

    r = "compat.no-trailing-cr"
    s, ch = hello("gen-v-tcr-01")
    warn_only(r, "lf-then-cr", frame(ch)[:-1] + b"\r",
              "LF line endings, but the final blank line ends in a lone CR, the last byte of the body.",
              req=request())


def v_compat_revised() -> None:
    """The compat rules of the revised spec (2026-11-29), with both severities where they have two."""
    r = "compat.no-bom"
    s = Stream("gen-v-bom-02")
    ch = [s.role("Hello"), *(s.text(p) for p in HELLO[1:]), s.finish("stop", usage(12, 5))]
    bad(r, "bom-before-content", b"\xef\xbb\xbf" + frame(ch),
        "A BOM before a first event that carries content (`Hello`): the OpenAI Python SDK and httpx-sse drop "
        "it, and the answer loses its first word (an error, section 11).", req=request())
    s, ch = hello("gen-v-bom-03")
    warn_only(r, "bom-before-comment", b"\xef\xbb\xbf: connected\n\n" + frame(ch),
              "A BOM before a comment line: the BOM spoils only the comment, no event is lost (a warning).",
              req=request())

    r = "compat.no-trailing-cr"
    o = Stream("chatcmpl-GenVTcrOpenAI01", model="gpt-4.1-mini-2025-04-14")
    oerr = {"error": {"message": "The server had an error while processing your request.", "type": "server_error",
                      "param": None, "code": None}}
    chunks = [o.role(), o.text("Once"), o.text(" upon a")]
    body = frame(chunks, done=False) + b"data: " + enc(oerr).encode() + b"\r\r"
    bad(r, "cr-after-midstream-error", body,
        "The stream ends with a mid-stream error event (legal under openai) whose blank line is a lone CR: "
        "eventsource-parser never dispatches it, and the AI SDK reports a stream without a finish instead of "
        "the error (an error, section 11).", profile="openai", req=request(model="gpt-4.1-mini"))

    r = "compat.list-delta-index"
    s = Stream("gen-v-ldi-01")
    thoughts = ["97 is odd", " and not divisible by 3, 5 or 7;", " so it is prime."]
    ch = [s.role(), *(s.delta({"reasoning_details": [{"type": "reasoning.text", "text": t}]}) for t in thoughts),
          s.text("Yes, 97 is prime."), s.finish("stop", usage(14, 20))]
    bad(r, "reasoning-details-no-index", frame(ch), "`reasoning_details` arrive in three deltas and no entry has "
        "an `index`: the OpenAI Python SDK's stream() helper raises on the second delta.", req=REASONING_REQUEST)
    s = Stream("gen-v-ldi-02")
    cite = {"type": "url_citation", "url_citation": {"url": "https://example.com/paris", "title": "Paris"}}
    ch = [s.role(), s.text("Paris"), s.delta({"content": " is lovely.", "annotations": [cite]}),
          s.delta({"annotations": [{**cite, "index": 1}]}), s.finish("stop", usage(9, 4))]
    bad(r, "annotations-first-without-index", frame(ch, style="spaced"),
        "`annotations` in two deltas; the second entry has an index, the first does not.", req=request())
    s = Stream("gen-v-ldi-03")
    ch = [s.delta({"role": "assistant", "content": "", "reasoning_details": []}),
          s.delta({"reasoning_details": [{"type": "reasoning.text", "text": "97 is odd."}]}),
          s.text("Yes."), s.finish("stop", usage(14, 5))]
    bad(r, "empty-list-counts", frame(ch), "The role delta carries `reasoning_details: []` and a later delta an "
        "entry without `index`: an empty list counts as appearing, so the field is in two deltas.",
        req=REASONING_REQUEST)

    r = "compat.no-choice-message"
    s = Stream("gen-v-msg-01")
    ch = []
    said = ""
    for c in text_chunks(s, HELLO):
        said += c["choices"][0]["delta"].get("content") or ""
        c["choices"][0]["message"] = {"role": "assistant", "content": said}
        ch.append(c)
    bad(r, "message-on-every-chunk", frame(ch), "Every chunk's choice carries a `message` object with the text "
        "so far beside its delta: the OpenAI Node SDK's stream() copies it over what it accumulated.", req=request())
    s, ch = hello("gen-v-msg-02")
    ch[-1]["choices"][0]["message"] = {"role": "assistant", "content": None}
    bad(r, "message-on-finish", frame(ch, style="spaced"), "Only the finish chunk's choice carries a `message` "
        "(with content null): the Node SDK's snapshot loses the streamed text.", req=request())

    r = "compat.usage-last"
    o = Stream("chatcmpl-GenVUsageLast01", model="gpt-5-2025-08-07", service_tier="default",
               system_fingerprint=None)
    chunks = [o.chunk([{"index": 0, "delta": {"role": "assistant", "content": "", "refusal": None},
                        "finish_reason": None}], usage=None)]
    chunks += [o.chunk([{"index": 0, "delta": {"content": p}, "finish_reason": None}], usage=None) for p in HELLO]
    chunks.append(o.chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}], usage=None))
    chunks.append(o.chunk([], usage=usage(11, 5)))
    chunks.append(o.chunk([], usage=None, moderation={"flagged": False, "categories": {}}))
    warn_only(r, "moderation-after-usage", frame(chunks),
              "OpenAI profile: the usage chunk is followed by a moderation-like chunk (`choices: []`, `usage: null`; "
              "modelled on OpenAI's own, synthetic here): the SDKs' stream() helpers end with no usage.",
              profile="openai", req=request(model="gpt-5", stream_options={"include_usage": True}))
    s = Stream("gen-v-usage-last-02")
    ch = [*text_chunks(s, HELLO), s.delta({}, None)]
    bad(r, "empty-chunk-after-usage", frame(ch), "An empty chunk follows the finish chunk that carries usage: "
        "under sansa usage.present-last and usage.only-last fail as well (section 11 says both are reported).",
        fail=["usage.present-last", "usage.only-last"], warn=[r], req=request())

    r = "scenario.exercised"
    s = Stream("gen-v-exercised-parallel-01")
    frags = ['{"location": "Tok', 'yo, Japan"}']
    ch = [s.role(None), s.delta({"tool_calls": [tool_call_head(0, "call_wx_tokyo", "get_weather")]}),
          *(s.delta({"tool_calls": [tool_call_args(0, f)]}) for f in frags), s.finish("tool_calls", usage(40, 12))]
    parallel = request(messages=[{"role": "user", "content": "Call get_weather and get_local_time for Tokyo, "
                                  "in parallel, using the tools."}],
                       tools=[WEATHER_TOOL, TIME_TOOL], tool_choice="required", parallel_tool_calls=True)
    warn_only(r, "parallel-tools-one-call", frame(ch), "The parallel-tools scenario asked for parallel calls; "
              "the answer has one tool call, so interleaving by index was not exercised.",
              req=parallel, scenario="parallel-tools")


def bad_input() -> None:
    def side(why: str, fail: list[str], **kw: Any) -> dict[str, Any]:
        d: dict[str, Any] = {"why": why, "expect": {"fail": fail, "warn": []}, "status": 200, "headers": SSE_HEADERS}
        d.update(kw)
        return d

    add("violations/bad-input/empty-body", b"",
        side("The body is empty: no event at all, so no [DONE].", ["sse.done"]))

    s, ch = hello("gen-bad-array-01")
    add("violations/bad-input/json-array", frame(ch[:2] + ["[1,2]"] + ch[2:]),
        side("One event's payload is the JSON array `[1,2]`, not an object.", ["sse.json-payload"]))

    s, ch = hello("gen-bad-truncated-01")
    body = frame(ch, done=False)
    cut = body.index(b'" help you"') + 4
    add("violations/bad-input/truncated", body[:cut],
        side("The connection dropped in the middle of a content chunk's JSON: the partial block is "
             "discarded, no finish, no usage, no [DONE].",
             ["sse.done", "usage.present-last", "chunk.finish-reason-once"]))

    s, ch = hello("gen-bad-gzip-01")
    add("violations/bad-input/gzip-not-decoded", gzip.compress(frame(ch), mtime=0),
        side("A gzip-compressed body stored without decoding (Content-Encoding ignored): binary, "
             "not UTF-8, no events.", ["sse.utf8", "sse.done"]))
    # The 20 MB single line (a parser-limit test) is not committed: the tests build it on the
    # fly (fixtures/README.md).



# --------------------------------------------------------------------------------------------
# real/: a byte-for-byte copy of the shared corpus (only with --real SRC_DIR)

VERCEL_COMMIT = "ed857f50f112e23930b0c2dd8d532cc8bebbc911"
JUDGED = "to be judged"
FRK = "compat.finish-reason-key"
CID = "chunk.consistent-id"
# file -> (profile, fail, warn, expect_source). fail/warn follow INDEX.md's verdict column;
# where INDEX.md says "to be judged by the suite", expect_source says so for the lead to
# confirm; warnings INDEX.md does not name but the spec implies are listed with the reason.
REAL: dict[str, tuple[str, list[str], list[str], str]] = {
    "alibaba-reasoning.sse": ("sansa", [], [], JUDGED),
    "alibaba-text.sse": ("sansa", [], [], JUDGED),
    "alibaba-tool-call.sse": ("sansa", [], [FRK], JUDGED + "; compat.finish-reason-key added by inspection "
                              "(the 4th chunk's choice has no finish_reason key)"),
    "azure-deepseek-reasoning.1.sse": ("sansa", [], [CID], "INDEX.md"),
    "deepseek-reasoning.sse": ("sansa", [], [], JUDGED),
    "deepseek-text.sse": ("sansa", [], [], JUDGED),
    "deepseek-tool-call.sse": ("sansa", [], [], JUDGED),
    "groq-reasoning.sse": ("sansa", [], [CID], "INDEX.md"),
    "groq-text.sse": ("sansa", [], [CID], "INDEX.md"),
    "groq-tool-call.sse": ("sansa", [], [], JUDGED),
    "mistral-incremental-tool-call.sse": ("sansa", ["chunk.role-first"], [], "INDEX.md"),
    "mistral-reasoning.sse": ("sansa", ["chunk.schema", "compat.list-delta-index"], [],
                              "INDEX.md; compat.list-delta-index added by the revised spec (section 11, 2026-11-29): "
                              "delta.content is a list in three deltas and its entries have no index, so the OpenAI "
                              "Python SDK's stream() helper raises on the second"),
    "mistral-text.sse": ("sansa", [], [], JUDGED),
    "mistral-tool-call.sse": ("sansa", ["tools.index"], [], "INDEX.md"),
    "compat-anthropic-fallback-tool-call.sse": ("sansa", ["usage.present-last", "tools.index-dense", "sse.done"], [],
                                                "INDEX.md"),
    "compat-xai-text.sse": ("sansa", ["usage.totals"], [CID, FRK], "INDEX.md; compat.finish-reason-key added "
                            "by inspection (non-final choices omit the finish_reason key)"),
    "compat-xai-tool-call.sse": ("sansa", ["usage.totals"], [CID, FRK], "INDEX.md; compat.finish-reason-key "
                                 "added by inspection (non-final choices omit the finish_reason key)"),
    "azure-model-router.1.sse": ("openai", [], [], "INDEX.md"),
    "openai-text.sse": ("openai", [], [], "INDEX.md"),
    "perplexity-citations.sse": ("sansa", ["chunk.role-only-first", "usage.only-last", "chunk.schema"], [CID, FRK],
                                 "INDEX.md; added by inspection: chunk.consistent-id (two `created` values) "
                                 "and compat.finish-reason-key (non-final choices omit the key)"),
    "perplexity-text.sse": ("sansa", ["chunk.role-only-first", "usage.only-last", "chunk.schema"], [CID, FRK],
                            "INDEX.md; added by inspection: chunk.consistent-id (two `created` values) "
                            "and compat.finish-reason-key (non-final choices omit the key)"),
    "xai-text.sse": ("sansa", ["usage.totals"], [CID, FRK], "INDEX.md; compat.finish-reason-key added by "
                     "inspection (non-final choices omit the finish_reason key)"),
    "xai-tool-call.sse": ("sansa", ["usage.totals"], [CID, FRK], "INDEX.md; compat.finish-reason-key added by "
                          "inspection (non-final choices omit the finish_reason key)"),
}


def real(src: Path) -> None:
    """Register fixtures/real/: the corpus files byte for byte, INDEX.md, one sidecar each."""
    index = (src / "INDEX.md").read_bytes()
    source_path = {}
    for line in index.decode("utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 2 and cells[0].endswith(".sse"):
            source_path[cells[0]] = cells[1]
    files = sorted(p.name for p in src.glob("*.sse"))
    if sorted(REAL) != files or sorted(source_path) != files:
        raise SystemExit("the corpus and the REAL table list different files")
    FILES[FIXTURES / "real" / "INDEX.md"] = (
        b"> Copied unchanged from the shared corpus (/work/shared/corpus/real/INDEX.md) below this line.\n\n"
        + index
    )
    for name in files:
        profile, fail, warn, how = REAL[name]
        FILES[FIXTURES / "real" / name] = (src / name).read_bytes()
        FILES[(FIXTURES / "real" / name).with_suffix(".json")] = side_bytes({
            "source": f"vercel/ai@{VERCEL_COMMIT}:{source_path[name]} (payloads byte-exact; SSE framing "
                      "and [DONE] reconstructed, see INDEX.md)",
            "profile": profile,
            "expect": {"fail": fail, "warn": warn},
            "expect_source": how,
        })

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    ap.add_argument("--real", type=Path, metavar="SRC_DIR",
                    help="also (re)write fixtures/real/ from the shared corpus directory SRC_DIR")
    args = ap.parse_args()

    conformant()
    v_request_and_prestream()
    v_framing()
    v_chunks()
    v_usage()
    v_errors()
    v_tools()
    v_reasoning()
    v_structured()
    v_compat()
    v_compat_revised()
    bad_input()
    if args.real:
        real(args.real)

    # Files in the generated folders that this script does not write (hand-made fixtures, or
    # ones a change here stopped producing) are listed, never deleted.
    on_disk = {p for d in GENERATED_DIRS for p in (FIXTURES / d).rglob("*") if p.suffix in (".sse", ".json")}
    extra = sorted(on_disk - FILES.keys())
    changed = [p for p, data in sorted(FILES.items()) if not p.exists() or p.read_bytes() != data]
    for p in extra:
        print(f"not written by this script (left alone): {p.relative_to(ROOT)}", file=sys.stderr)
    if args.check:
        for p in changed:
            print(f"differs from the generator: {p.relative_to(ROOT)}")
        return 1 if changed else 0
    for p in changed:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(FILES[p])
    print(f"{len(FILES)} files, {len(changed)} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
