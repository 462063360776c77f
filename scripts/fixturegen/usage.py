"""Usage (spec section 7): where usage rides and what it adds up to; usage.* violations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .corpus import CONFORMS, OPENAI_LAYOUT, SSE_HEADERS_CHARSET, Fixture, fixture
from .request import openai_request, request
from .streams import HELLO, Stream, frame, gpt_4o_mini, hello, openai_delta, openai_role, usage

OBFUSCATION = ["q7Yx", "Hf2", "a9Lk", "Zp", "mW3e", "Tt", "RbX0", "sQ1"]  # one per chunk, as OpenAI pads


def fixtures() -> Iterator[Fixture]:
    yield openai_include_usage()
    yield from present_last()
    yield from only_last()
    yield from totals()


def openai_include_usage() -> Fixture:
    o = Stream("chatcmpl-GenConfOpenAI01", model="gpt-4.1-mini-2025-04-14",
               service_tier="default", system_fingerprint="fp_5c3a1e9b20")
    pieces = ["Hello", "!", " How can", " I help", " today?"]
    chunks = [openai_role(o, obfuscation=OBFUSCATION[0])]
    chunks += [openai_delta(o, {"content": p}, obfuscation=OBFUSCATION[i + 1]) for i, p in enumerate(pieces)]
    chunks.append(openai_delta(o, {}, "stop", obfuscation=OBFUSCATION[6]))
    chunks.append(o.chunk([], usage=_openai_usage_details(), obfuscation=OBFUSCATION[7]))
    return fixture(CONFORMS, "openai-text-include-usage", frame(chunks), "OpenAI profile: "
                   "`stream_options.include_usage` asked, so usage comes in one extra `choices: []` chunk after the "
                   "finish; `usage: null`, `system_fingerprint` and `obfuscation` on every chunk.", profile="openai",
                   req=request(model="gpt-4.1-mini", stream_options={"include_usage": True}))


def _openai_usage_details() -> dict[str, Any]:
    return {
        "prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }


def present_last() -> Iterator[Fixture]:
    r = "usage.present-last"
    s = Stream("gen-v-upl-01")
    ch = [s.role(), *(s.text(p) for p in HELLO), s.finish("stop")]
    yield fixture(r, "no-usage", frame(ch), "No chunk carries usage.", req=request())
    h = hello("gen-v-upl-02")
    h.finish["usage"] = None
    yield fixture(r, "usage-null", frame(h.chunks, style="spaced"),
                  "The last chunk has `usage: null`, which counts as absent.", req=request())
    s = Stream("gen-v-upl-03")
    ch = [s.role(), *(s.text(p) for p in HELLO), s.finish("stop"), s.delta({}, None)]
    yield fixture(r, "trailing-chunk-without-usage", frame(ch), "After the finish an empty trailing chunk "
                  "arrives; neither it nor any other chunk carries usage.", req=request())

    s = gpt_4o_mini()
    chunks = [openai_role(s), openai_delta(s, {"content": "Hello"}), openai_delta(s, {"content": "!"}),
              openai_delta(s, {}, "stop")]
    yield fixture(r, "openai-requested-but-missing", frame(chunks), "profile openai: the request set "
                  "stream_options.include_usage, yet no chunk at or after the finish carries usage",
                  profile="openai", headers=SSE_HEADERS_CHARSET, req=openai_request(include_usage=True),
                  layout=OPENAI_LAYOUT)


def only_last() -> Iterator[Fixture]:
    r = "usage.only-last"
    s = Stream("gen-v-uol-01")
    ch = [s.role(usage=usage(12, 0))]
    ch += [s.text(p, usage=usage(12, i + 1)) for i, p in enumerate(HELLO)]
    ch.append(s.finish("stop", usage(12, len(HELLO))))
    yield fixture(r, "usage-every-chunk", frame(ch), "Every chunk carries a running usage object (Perplexity "
                  "style).", req=request())
    h = hello("gen-v-uol-02")
    h.role["usage"] = usage(12, 0)
    yield fixture(r, "usage-first-and-last", frame(h.chunks, style="spaced"),
                  "The role chunk carries usage as well as the last chunk.", req=request())

    s = gpt_4o_mini()
    chunks = [openai_role(s), openai_delta(s, {"content": "Hello"}, usage=usage(9, 2)),
              openai_delta(s, {"content": "!"}), openai_delta(s, {}, "stop"), s.chunk([], usage=usage(9, 2))]
    yield fixture(r, "openai-usage-before-finish", frame(chunks), "profile openai: usage rides a content chunk "
                  "before the last finish, and a second chunk carries it again",
                  profile="openai", headers=SSE_HEADERS_CHARSET, req=openai_request(include_usage=True),
                  layout=OPENAI_LAYOUT)


def totals() -> Iterator[Fixture]:
    r = "usage.totals"
    for id, name, bad_usage, style, why in [
        ("gen-v-totals-01", "total-mismatch", usage(12, 5, 40), "compact",
         "`total_tokens` is 40 but prompt + completion is 17 (reasoning tokens counted in the total only)."),
        ("gen-v-totals-02", "negative", usage(12, -5), "spaced",
         "`completion_tokens` is -5 (total 7 still equals the sum)."),
        ("gen-v-totals-03", "fractional", {"prompt_tokens": 12, "completion_tokens": 5.5, "total_tokens": 17.5},
         "compact", "`completion_tokens` is 5.5, not an integer (the total matches the sum)."),
    ]:
        h = hello(id)
        h.finish["usage"] = bad_usage
        yield fixture(r, name, frame(h.chunks, style=style), why, req=request())
