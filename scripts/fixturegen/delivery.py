"""Delivery (spec section 10): arrival times (`timing`) that conform, and sse.incremental.

Delivery is judged on the spread of the events, not on the time since the request, so the
conformant cases here are the ones a naive check would call buffered.
"""

from __future__ import annotations

from collections.abc import Iterator

from .corpus import CONFORMS, Fixture, fixture, warning
from .request import request
from .streams import Stream, event_offsets, frame, text_chunks, timed, usage


def fixtures() -> Iterator[Fixture]:
    yield from conformant()
    yield from incremental()


def conformant() -> Iterator[Fixture]:
    s = Stream("gen-conf-fast-model-01")
    tokens = [w for _ in range(30) for w in (" The", " river", " runs", " past", " the", " old", " mill", " and",
                                             " on", " to")]  # 300 tokens
    body = frame([s.role(), *(s.text(t) for t in tokens), s.finish("stop", usage(20, 300))])
    n = len(event_offsets(body))
    yield fixture(CONFORMS, "text-fast-model", body, "300 tokens, one per event, streamed at 2,000 tokens/s "
                  "(0.5 ms apart) after 0.25 s: fast, but spread over 150 ms, so sse.incremental must not call it "
                  "buffered (section 10).",
                  req=request(), timing=timed(body, [0.25 + i * 0.0005 for i in range(n)]), headers_at=0.2)

    s = Stream("gen-conf-slow-start-01")
    body = frame([s.role(), *(s.text(" word") for _ in range(40)), s.finish("stop", usage(20, 40))])
    n = len(event_offsets(body))
    yield fixture(CONFORMS, "text-slow-start", body, "The first event arrives after 5 s (a model that thinks "
                  "first), then 40 tokens at 30 tokens/s: a long wait is not buffering (section 10).",
                  req=request(), timing=timed(body, [5.0 + i / 30 for i in range(n)]), headers_at=0.1)

    s = Stream("gen-conf-short-fast-01")
    body = frame(text_chunks(s, ["Hi", "!"]))
    yield fixture(CONFORMS, "text-short-fast", body, "A five-event answer that arrives within 2 ms: too short to "
                  "tell buffered from fast, so sse.incremental is not applicable (section 10).",
                  req=request(), timing=timed(body, [0.3 + i * 0.0005 for i in range(5)]), headers_at=0.29)


def incremental() -> Iterator[Fixture]:
    r = "sse.incremental"
    words = ("Buffered proxies hold every byte until the upstream finishes, "
             "so the user sees nothing and then everything at once.").split(" ")
    pieces = [words[0]] + [" " + w for w in words[1:]]

    body = frame(text_chunks(Stream("gen-v-incremental-01"), pieces))
    yield warning(r, "one-burst", body, f"All {len(pieces) + 3} events arrive in one burst at 3.0 s, "
                  "after the whole answer was generated (a buffering proxy).",
                  req=request(), timing=[[0, 3.0]], headers_at=0.15)

    body = frame(text_chunks(Stream("gen-v-incremental-02"), pieces))
    offs = event_offsets(body)
    yield warning(r, "role-then-burst", body, "The role chunk arrives at 0.2 s (flushed with the headers), then "
                  f"the other {len(offs) - 1} events in one write at 2.5 s: a proxy that buffers after the first "
                  "event.", req=request(), timing=[[0, 0.2], [offs[1], 2.5]], headers_at=0.15)
