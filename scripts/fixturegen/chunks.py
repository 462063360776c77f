"""Chunks (spec sections 3-5): the plain answers that conform, and the chunk.* violations."""

from __future__ import annotations

from collections.abc import Iterator

from .corpus import CONFORMS, Fixture, fixture, warning
from .request import request
from .streams import CREATED, HELLO, Stream, choice, delta_of, event_offsets, frame, hello, text_chunks, usage


def fixtures() -> Iterator[Fixture]:
    yield from conformant()
    yield from schema()
    yield from consistent_id()
    yield from role_first()
    yield from role_only_first()
    yield from finish_reason_enum()
    yield from finish_reason_once()


def conformant() -> Iterator[Fixture]:
    s = Stream("gen-conf-text-01")
    pieces = ["Bonjour", " ! Here", " is a short", " answer —", " with a café", " and a 👋."]
    body = frame(text_chunks(s, pieces))
    offs = event_offsets(body)
    timing = [[o, round(0.2 + i * 1.0 / (len(offs) - 1), 3)] for i, o in enumerate(offs)]
    yield fixture(CONFORMS, "text", body, "Plain text: role chunk, content chunks, finish chunk with empty delta, "
                  "`stop` and usage, then [DONE]; arrival times spread over a second.",
                  req=request(), timing=timing, headers_at=0.18)

    s = Stream("gen-conf-length-01")
    pieces = ["The history", " of Paris", " begins", " with the", " Parisii,", " a Celtic"]
    yield fixture(CONFORMS, "max-tokens-length", frame(text_chunks(s, pieces, reason="length"), style="spaced"),
                  "Generation cut by max_tokens: finish_reason `length`, usage still on the last chunk.",
                  req=request(messages=[{"role": "user", "content": "Tell me the history of Paris."}], max_tokens=6))

    s = Stream("gen-conf-n2-01")
    chunks = [
        s.role(index=0), s.role(index=1),
        s.text("Hi", index=0), s.text("Hello", index=1),
        s.text(" there!", index=0), s.text(" world!", index=1),
        s.finish("stop", index=0),
        s.finish("stop", usage(10, 7), index=1),
    ]
    yield fixture(CONFORMS, "n2", frame(chunks), "Two choices (n=2): each gets its own role-first delta and its own "
                  "finish; usage rides the last chunk.", req=request(n=2))


def schema() -> Iterator[Fixture]:
    r = "chunk.schema"
    s = Stream("gen-v-schema-01", created=str(CREATED))
    yield fixture(r, "created-string", frame(text_chunks(s, HELLO)),
                  "`created` is a string on every chunk, not an integer.", req=request())
    h = hello("gen-v-schema-02")
    h.contents[1]["object"] = "chat.completion"
    yield fixture(r, "object-wrong", frame(h.chunks, style="spaced"),
                  "One chunk says `object: \"chat.completion\"` instead of `chat.completion.chunk`.", req=request())
    h = hello("gen-v-schema-03")
    delta_of(h.contents[1])["content"] = [{"type": "text", "text": "! How"}]
    yield fixture(r, "content-array", frame(h.chunks),
                  "`delta.content` is an array of typed parts (Mistral style), not a string.", req=request())


def consistent_id() -> Iterator[Fixture]:
    r = "chunk.consistent-id"
    h = hello("gen-v-cid-01")
    for c in h.contents[2:4]:
        c["id"] = "gen-v-cid-01b"
    yield warning(r, "id-changes", frame(h.chunks), "The chunk `id` changes in the middle of the stream.",
                  req=request())
    h = hello("gen-v-cid-02")
    for c in h.chunks[3:]:
        c["created"] = CREATED + 1
    yield warning(r, "created-changes", frame(h.chunks, style="spaced"),
                  "`created` moves on by one second halfway through the stream.", req=request())
    h = hello("gen-v-cid-03")
    for c in h.chunks[1:]:
        c["model"] = "anthropic/claude-sonnet-4"
    yield warning(r, "model-changes", frame(h.chunks), "`model` switches from the router alias to the routed "
                  "model after the first chunk.", req=request())


def role_first() -> Iterator[Fixture]:
    r = "chunk.role-first"
    s = Stream("gen-v-rolefirst-01")
    ch = [*(s.text(p) for p in HELLO), s.finish("stop", usage(12, 5))]
    yield fixture(r, "no-role", frame(ch), "No delta carries `role`: the first delta is plain content.",
                  req=request())
    h = hello("gen-v-rolefirst-02")
    delta_of(h.role)["role"] = "user"
    yield fixture(r, "role-user", frame(h.chunks), "The first delta says `role: \"user\"`.", req=request())
    h = hello("gen-v-rolefirst-03")
    delta_of(h.role)["role"] = None
    yield fixture(r, "role-null", frame(h.chunks, style="spaced"),
                  "The first delta has `role: null`, which counts as absent.", req=request())


def role_only_first() -> Iterator[Fixture]:
    r = "chunk.role-only-first"
    h = hello("gen-v-roleonly-01")
    for c in h.contents:
        choice(c)["delta"] = {"role": "assistant", **delta_of(c)}
    yield fixture(r, "role-every-chunk", frame(h.chunks),
                  "`role: \"assistant\"` is repeated on every content delta (Ollama style).", req=request())
    h = hello("gen-v-roleonly-02")
    choice(h.finish)["delta"] = {"role": "assistant"}
    yield fixture(r, "role-on-finish", frame(h.chunks, style="spaced"),
                  "The finish chunk's delta carries `role` again.", req=request())


def finish_reason_enum() -> Iterator[Fixture]:
    r = "chunk.finish-reason-enum"
    for id, name, reason, style, why in [
        ("gen-v-enum-01", "end-turn", "end_turn", "compact",
         "`finish_reason: \"end_turn\"` (Anthropic's stop reason leaked through)."),
        ("gen-v-enum-02", "content-filter", "content_filter", "compact",
         "`content_filter` is an OpenAI finish reason the sansa profile does not allow."),
        ("gen-v-enum-03", "upper-case", "STOP", "spaced",
         "`finish_reason: \"STOP\"` (Gemini casing); the enum is lower case."),
    ]:
        h = hello(id)
        choice(h.finish)["finish_reason"] = reason
        yield fixture(r, name, frame(h.chunks, style=style), why, req=request())


def finish_reason_once() -> Iterator[Fixture]:
    r = "chunk.finish-reason-once"
    s = Stream("gen-v-once-01")
    ch = [s.role(), *(s.text(p) for p in HELLO[:-1]), s.delta({"content": HELLO[-1]}, "stop"),
          s.finish("stop", usage(12, 5))]
    yield fixture(r, "finished-twice", frame(ch), "The last content chunk finishes with `stop` and the usage "
                  "chunk finishes the same choice with `stop` again.", req=request())
    h = hello("gen-v-once-02")
    choice(h.finish)["finish_reason"] = None
    yield fixture(r, "never-finished", frame(h.chunks, style="spaced"), "No chunk carries a non-null "
                  "`finish_reason`: the usage chunk has `finish_reason: null`.", req=request())
    s = Stream("gen-v-once-03")
    ch = [s.role(), *(s.text(p) for p in HELLO[:3]), s.finish("stop"), s.text(" help you"),
          s.delta({}, None, usage=usage(12, 4))]
    yield fixture(r, "content-after-finish", frame(ch), "After its `stop` the choice comes back with more content.",
                  req=request())
