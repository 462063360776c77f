"""Stream builders: chunks as plain dicts, the usual shapes, named edits, and framing into bytes.

Every fixture body is built from these, so a fixture reads as what it breaks ("the finish
chunk's `finish_reason` is `end_turn`") instead of as an index path into a list of dicts. The
builders are deterministic (a fixed `created`, fixed ids and text): the corpus must come out
byte for byte the same on every run. Dict key order is part of the bytes, so an edit that
adds a key adds it where the committed fixture has it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

CREATED = 1767225600  # 2026-01-01T00:00:00Z, the `created` of every generated stream
MODEL = "sansa-auto"
DONE = "[DONE]"
ABSENT = object()  # "leave the key out", as opposed to None ("the key set to null")

HELLO = ["Hello", "! How", " can I", " help you", " today?"]  # the content of most violations


def enc(obj: Any, style: str = "compact") -> str:
    """One JSON payload; both spellings (`{"a":1}` and `{"a": 1}`) occur in real streams."""
    if style == "compact":
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    if style == "spaced":
        return json.dumps(obj, ensure_ascii=False)
    raise ValueError(style)


def usage(prompt: int, completion: int, total: int | None = None) -> dict[str, Any]:
    """A usage object; `total` only when a fixture needs it to disagree with the sum."""
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
        """A chunk with these choices; `top` adds (or, with ABSENT, removes) top-level keys."""
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
        """A one-choice chunk carrying `delta` (and `finish_reason`, null unless given)."""
        choice: dict[str, Any] = {"index": index, "delta": delta}
        if choice_extra:
            choice.update(choice_extra)
        if finish_key:
            choice["finish_reason"] = finish
        return self.chunk([choice], usage=usage, **top)

    def role(self, content: Any = "", index: int = 0, **kw: Any) -> dict[str, Any]:
        """The first delta: `role: assistant` and (unless ABSENT) an empty content."""
        d: dict[str, Any] = {"role": "assistant"}
        if content is not ABSENT:
            d["content"] = content
        return self.delta(d, index=index, **kw)

    def text(self, s: str, index: int = 0, **kw: Any) -> dict[str, Any]:
        return self.delta({"content": s}, index=index, **kw)

    def finish(self, reason: str, u: Any = ABSENT, index: int = 0, **kw: Any) -> dict[str, Any]:
        """The finish chunk: empty delta, `finish_reason`, and usage when given."""
        return self.delta({}, reason, index=index, usage=u, **kw)

    def tool_call(self, head: dict[str, Any], fragments: list[str], index: int = 0) -> list[dict[str, Any]]:
        """A tool call in one delta per fragment: the head, then the argument fragments."""
        return [self.delta({"tool_calls": [head]})] + [
            self.delta({"tool_calls": [tool_call_args(index, f)]}) for f in fragments
        ]


def text_chunks(s: Stream, pieces: list[str], reason: str = "stop", prompt: int = 12) -> list[Any]:
    """Role chunk, one chunk per piece, finish chunk with usage: the plain sansa stream."""
    return [s.role(), *(s.text(p) for p in pieces), s.finish(reason, usage(prompt, len(pieces)))]


@dataclass
class Hello:
    """The plain HELLO stream, its chunks named: edit one, then frame `chunks`.

    The chunks are shared dicts, so an edit through `finish` or `contents[1]` shows in
    `chunks` (role, the five content chunks, the finish chunk with usage).
    """

    stream: Stream
    chunks: list[dict[str, Any]]

    @property
    def role(self) -> dict[str, Any]:
        return self.chunks[0]

    @property
    def contents(self) -> list[dict[str, Any]]:
        return self.chunks[1:-1]

    @property
    def finish(self) -> dict[str, Any]:
        return self.chunks[-1]


def hello(id: str, **kw: Any) -> Hello:
    """The plain five-piece answer most violations start from, with stream id `id`."""
    s = Stream(id, **kw)
    return Hello(s, text_chunks(s, HELLO))


def choice(chunk: dict[str, Any]) -> dict[str, Any]:
    """The (first and only) choice of a one-choice chunk: where an edit goes."""
    return chunk["choices"][0]


def delta_of(chunk: dict[str, Any]) -> dict[str, Any]:
    """The delta of a one-choice chunk."""
    return choice(chunk)["delta"]


def insert_at(items: list[Any], position: int, *new: Any) -> list[Any]:
    """A copy of `items` with `new` placed before `items[position]` (an event slipped in)."""
    return [*items[:position], *new, *items[position:]]


def tool_call_head(index: int, call_id: str, name: str, arguments: str = "") -> dict[str, Any]:
    """The first fragment of a tool call: index, id, type, name and (usually empty) arguments."""
    return {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def tool_call_args(index: int, fragment: str) -> dict[str, Any]:
    """A later fragment of a tool call: its index and a piece of the arguments."""
    return {"index": index, "function": {"arguments": fragment}}


# --------------------------------------------------------------------------------------------
# Framing: payloads -> bytes


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
    """Byte offsets where each event of an LF-framed body starts (for `timing`)."""
    offsets, pos = [0], 0
    while True:
        i = body.find(sep, pos)
        if i < 0 or i + len(sep) >= len(body):
            return offsets
        pos = i + len(sep)
        offsets.append(pos)


def timed(body: bytes, times: list[float]) -> list[list[float]]:
    """A `timing` list: event k of an LF-framed body arrives at times[k]."""
    return [[o, round(t, 4)] for o, t in zip(event_offsets(body), times)]


# --------------------------------------------------------------------------------------------
# OpenAI's own chunk shape (profile openai): logprobs on the choice, `usage: null` until the end


def openai_delta(s: Stream, delta: dict[str, Any], finish: str | None = None, usage: Any = None,
                 **top: Any) -> dict[str, Any]:
    """A chunk as OpenAI sends it: `logprobs: null` beside the delta, `usage` (null) on every chunk."""
    return s.delta(delta, finish, choice_extra={"logprobs": None}, usage=usage, **top)


def openai_role(s: Stream, **top: Any) -> dict[str, Any]:
    """OpenAI's first delta: role, empty content and `refusal: null`."""
    return openai_delta(s, {"role": "assistant", "content": "", "refusal": None}, **top)


def gpt_4o_mini() -> Stream:
    """The stream of the openai-profile fixtures first written by hand (id chatcmpl-oa1)."""
    return Stream("chatcmpl-oa1", model="gpt-4o-mini", system_fingerprint="fp_1")
