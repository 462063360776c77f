"""Faults that edit the payloads: chunks, usage, [DONE], error events, tool calls, reasoning.

Each takes the conformant payload list (dicts plus ``"[DONE]"``) and breaks one thing, so
that the checker flags exactly the rules the fault declares (and nothing else).
"""

from __future__ import annotations

import copy
from typing import Any

from .events import DONE
from .framing import Wire
from .registry import TEXT, TOOLS, FaultContext, fault

Payloads = list[Any]

# ---- where things are in a payload list -------------------------------------------------


def _chunks(ps: Payloads) -> list[int]:
    return [i for i, p in enumerate(ps) if isinstance(p, dict) and isinstance(p.get("choices"), list)]


def _delta(p: dict[str, Any]) -> dict[str, Any]:
    return p["choices"][0]["delta"] if p["choices"] else {}


def _with(ps: Payloads, key: str) -> list[int]:
    """Chunks whose first choice's delta carries a non-empty ``key``."""
    return [i for i in _chunks(ps) if _delta(ps[i]).get(key)]


def _finish(ps: Payloads) -> dict[str, Any]:
    """The choice object that finishes last."""
    finishing: list[dict[str, Any]] = [c for i in _chunks(ps) for c in ps[i]["choices"] if c.get("finish_reason")]
    return finishing[-1]


def cut(ps: Payloads, contents: int = 2) -> None:
    """Keep the stream up to its ``contents``-th content chunk (fewer if the answer is shorter)."""
    where = _with(ps, "content")
    del ps[where[min(contents, len(where)) - 1] + 1 :]


def _error(ctx: FaultContext, finish: str | None) -> dict[str, Any]:
    if ctx.profile == "openai":
        error: dict[str, Any] = {"message": "Provider disconnected", "type": "server_error", "param": None, "code": "provider_error"}
    else:
        error = {"code": "provider_error", "message": "Provider disconnected"}
    return {"error": error, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}


# ---- chunks and usage ---------------------------------------------------------------------


@fault("role-repeated", "A later delta repeats role 'assistant'.", ("chunk.role-only-first",), TEXT)
def _role_repeated(wire: Wire, ctx: FaultContext) -> None:
    ps = wire.materialize()
    where = _with(ps, "content")
    _delta(ps[where[min(1, len(where) - 1)]])["role"] = "assistant"


@fault("role-missing", "The first delta has no role.", ("chunk.role-first",), TEXT)
def _role_missing(wire: Wire, ctx: FaultContext) -> None:
    ps = wire.materialize()
    del _delta(ps[_chunks(ps)[0]])["role"]


@fault("usage-middle", "A middle chunk carries usage too (the last one still does).", ("usage.only-last",), TEXT)
def _usage_middle(wire: Wire, ctx: FaultContext) -> None:
    ps = wire.materialize()
    usage = next((ps[i]["usage"] for i in _chunks(ps) if ps[i].get("usage")), None)
    if usage is None:  # openai, usage not asked for: the last chunk gets it too, as the name says
        usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        ps[_chunks(ps)[-1]]["usage"] = copy.deepcopy(usage)
    where = _with(ps, "content")
    ps[where[len(where) // 2]]["usage"] = copy.deepcopy(usage)


@fault("usage-missing", "No chunk carries usage.", ("usage.present-last",), TEXT)
def _usage_missing(wire: Wire, ctx: FaultContext) -> None:
    for i in _chunks(ps := wire.materialize()):
        ps[i].pop("usage", None)


def _non_ascii(request: dict[str, Any]) -> bool:
    messages = request.get("messages")
    return isinstance(messages, list) and any(
        isinstance(m, dict) and isinstance(m.get("content"), str) and not m["content"].isascii() for m in messages
    )


@fault(
    "unicode-usage-missing",
    "No usage, but only when a message has a non-ASCII character: a bug only generated request variants find.",
    ("usage.present-last",),
    TEXT,
    conditional="a message contains a non-ASCII character",
)
def _unicode_usage_missing(wire: Wire, ctx: FaultContext) -> None:
    if _non_ascii(ctx.request):
        _usage_missing(wire, ctx)


@fault("usage-wrong-totals", "total_tokens is one more than prompt + completion.", ("usage.totals",), TEXT)
def _usage_wrong_totals(wire: Wire, ctx: FaultContext) -> None:
    for i in _chunks(ps := wire.materialize()):
        if ps[i].get("usage"):
            ps[i]["usage"]["total_tokens"] += 1


@fault("bad-finish-reason", "The choice finishes with 'end_turn', outside the enum.", ("chunk.finish-reason-enum",), TEXT)
def _bad_finish(wire: Wire, ctx: FaultContext) -> None:
    _finish(wire.materialize())["finish_reason"] = "end_turn"


@fault(
    "usage-not-last",
    "A moderation-like chunk (choices [], no usage) follows the usage chunk, as OpenAI's own streams do "
    "(under sansa the last chunk then lacks usage too).",
    ("compat.usage-last", "usage.only-last", "usage.present-last"),
    TEXT,
)
def _usage_not_last(wire: Wire, ctx: FaultContext) -> None:
    ps = wire.materialize()
    last = ps[_chunks(ps)[-1]]
    extra: dict[str, Any] = {k: last[k] for k in ("id", "object", "created", "model", "system_fingerprint") if k in last}
    extra["choices"] = []
    if ctx.profile == "openai":
        extra["usage"] = None
    extra["moderation"] = {"flagged": False}
    ps.insert(ps.index(DONE), extra)


@fault(
    "choice-message",
    "The finish chunk's choice also carries a non-streaming message object with the whole answer.",
    ("compat.no-choice-message",),
    TEXT,
)
def _choice_message(wire: Wire, ctx: FaultContext) -> None:
    ps = wire.materialize()
    text = "".join(_delta(ps[i]).get("content") or "" for i in _chunks(ps))
    _finish(ps)["message"] = {"role": "assistant", "content": text}


@fault("created-as-string", "Every chunk's created is a string of digits, not an integer.", ("chunk.schema",), TEXT)
def _created_string(wire: Wire, ctx: FaultContext) -> None:
    for i in _chunks(ps := wire.materialize()):
        ps[i]["created"] = str(ps[i]["created"])


@fault("id-changes", "The finishing chunk carries another id than the chunks before it.", ("chunk.consistent-id",), TEXT)
def _id_changes(wire: Wire, ctx: FaultContext) -> None:
    ps = wire.materialize()
    last = ps[_chunks(ps)[-1]]
    last["id"] = str(last["id"]) + "-2"


@fault(
    "finish-reason-key-missing",
    "The content chunks' choices leave out the finish_reason key (null until the finish is the spec's form).",
    ("compat.finish-reason-key",),
    TEXT,
)
def _finish_key_missing(wire: Wire, ctx: FaultContext) -> None:
    ps = wire.materialize()
    for i in _with(ps, "content"):
        ps[i]["choices"][0].pop("finish_reason", None)


@fault("not-json-payload", "A 'data: keep-alive' event (not JSON) after the first chunk.", ("sse.json-payload",), TEXT)
def _not_json(wire: Wire, ctx: FaultContext) -> None:
    ps = wire.materialize()
    ps.insert(_chunks(ps)[0] + 1, "keep-alive")


# ---- [DONE] and mid-stream errors ---------------------------------------------------------


@fault("no-done", "The stream is complete but never sends data: [DONE].", ("sse.done",), TEXT)
def _no_done(wire: Wire, ctx: FaultContext) -> None:
    wire.materialize().remove(DONE)


@fault("after-done", "A copy of the last content chunk follows [DONE].", ("sse.nothing-after-done",), TEXT)
def _after_done(wire: Wire, ctx: FaultContext) -> None:
    ps = wire.materialize()
    ps.append(copy.deepcopy(ps[_with(ps, "content")[-1]]))


@fault(
    "error-without-finish",
    "After two content chunks an error event whose choices[0].finish_reason is null, then [DONE]: "
    "the event has the wrong shape, and since it carries choices (section 6) it finishes nothing, "
    "so the choice never finishes.",
    ("chunk.finish-reason-once", "error.mid-stream-shape"),
    TEXT,
)
def _error_without_finish(wire: Wire, ctx: FaultContext) -> None:
    ps = wire.materialize()
    cut(ps)
    ps += [_error(ctx, None), DONE]


@fault("error-without-done", "After two content chunks a proper error event, then the body ends (no [DONE]).", ("error.done-after", "sse.done"), TEXT)
def _error_without_done(wire: Wire, ctx: FaultContext) -> None:
    ps = wire.materialize()
    cut(ps)
    ps.append(_error(ctx, "error"))


# ---- tool calls ---------------------------------------------------------------------------


def _entries(ps: Payloads, call: int = 0) -> list[dict[str, Any]]:
    return [e for i in _with(ps, "tool_calls") for e in _delta(ps[i])["tool_calls"] if e.get("index") == call]


@fault("tool-call-no-id", "The first fragment of tool call 0 has no id.", ("tools.first-fragment",), TOOLS)
def _tool_no_id(wire: Wire, ctx: FaultContext) -> None:
    del _entries(wire.materialize())[0]["id"]


@fault("tool-args-not-json", "Tool call 0's arguments lose their quotes and closing brace ({city: Paris...).", ("tools.arguments-json",), TOOLS)
def _tool_args(wire: Wire, ctx: FaultContext) -> None:
    parts = [e["function"] for e in _entries(wire.materialize()) if e["function"].get("arguments")]
    broken = "".join(p["arguments"] for p in parts).replace('"', "")[:-1] or "{"
    size = -(-len(broken) // len(parts))
    for k, part in enumerate(parts):
        part["arguments"] = broken[k * size : (k + 1) * size]


@fault("tool-wrong-finish", "The choice streams tool calls but finishes with 'stop'.", ("tools.finish-reason",), TOOLS)
def _tool_finish(wire: Wire, ctx: FaultContext) -> None:
    _finish(wire.materialize())["finish_reason"] = "stop"


@fault("tool-undeclared", "Tool call 0 calls a function the request did not declare.", ("tools.declared",), TOOLS)
def _tool_undeclared(wire: Wire, ctx: FaultContext) -> None:
    declared = {t["function"]["name"] for t in ctx.request.get("tools") or []}
    name = "undeclared_tool"
    while name in declared:
        name += "_x"
    _entries(wire.materialize())[0]["function"]["name"] = name


@fault(
    "tool-index-missing",
    "The entries of tool call 0 carry no index (the whole call still arrives, as Gemini-style streams send it).",
    ("tools.index",),
    ("tools",),
)
def _tool_index_missing(wire: Wire, ctx: FaultContext) -> None:
    for entry in _entries(wire.materialize()):
        del entry["index"]


@fault("tool-index-from-one", "Tool-call indexes start at 1, not 0.", ("tools.index-dense",), TOOLS)
def _tool_index_from_one(wire: Wire, ctx: FaultContext) -> None:
    ps = wire.materialize()
    for i in _with(ps, "tool_calls"):
        for entry in _delta(ps[i])["tool_calls"]:
            entry["index"] += 1


@fault(
    "tool-args-off-schema",
    "Tool call 0's arguments are {}: JSON, but without the properties its declared schema requires.",
    ("tools.arguments-schema",),
    TOOLS,
)
def _tool_args_off_schema(wire: Wire, ctx: FaultContext) -> None:
    parts = [e["function"] for e in _entries(wire.materialize()) if e["function"].get("arguments")]
    for k, part in enumerate(parts):
        part["arguments"] = "{}" if k == 0 else ""


@fault(
    "tools-ignored",
    "The tool request is answered in text: each tool-call fragment becomes a word, the choice finishes with stop "
    "(legal as a stream; the live tool scenarios then exercise nothing).",
    ("scenario.exercised",),
    TOOLS,
)
def _tools_ignored(wire: Wire, ctx: FaultContext) -> None:
    ps = wire.materialize()
    first = True
    for i in _chunks(ps):
        delta = _delta(ps[i])
        if delta.get("content", "") is None:  # the role delta of a tool answer
            delta["content"] = ""
        if "tool_calls" in delta:
            del delta["tool_calls"]
            delta["content"] = "Sure" if first else " sure"
            first = False
    _finish(ps)["finish_reason"] = "stop"


# ---- reasoning and structured output -----------------------------------------------------


@fault("reasoning-after-content", "The last reasoning chunk arrives after the first content chunk.", ("reasoning.before-content",), ("reasoning",))
def _reasoning_late(wire: Wire, ctx: FaultContext) -> None:
    ps = wire.materialize()
    moved = ps.pop(_with(ps, "reasoning")[-1])  # both profiles stream the string field
    ps.insert(_with(ps, "content")[0] + 1, moved)


@fault(
    "list-delta-index",
    "reasoning_details entries lose their index, over the several deltas that carry them (sansa; openai "
    "streams no reasoning_details).",
    ("compat.list-delta-index",),
    ("reasoning",),
)
def _list_delta_index(wire: Wire, ctx: FaultContext) -> None:
    ps = wire.materialize()
    for i in _with(ps, "reasoning_details"):
        for detail in _delta(ps[i])["reasoning_details"]:
            detail.pop("index", None)


@fault(
    "structured-code-fence",
    "The JSON content is wrapped in ```json fences.",
    ("structured.partial-json", "structured.valid-json"),
    ("structured",),
)
def _code_fence(wire: Wire, ctx: FaultContext) -> None:
    ps = wire.materialize()
    where = _with(ps, "content")
    _delta(ps[where[0]])["content"] = "```json\n" + _delta(ps[where[0]])["content"]
    _delta(ps[where[-1]])["content"] += "\n```"


@fault(
    "reasoning-detail-untyped",
    "The reasoning_details items carry no type (sansa; openai streams no reasoning_details).",
    ("reasoning.schema",),
    ("reasoning",),
)
def _reasoning_untyped(wire: Wire, ctx: FaultContext) -> None:
    ps = wire.materialize()
    for i in _with(ps, "reasoning_details"):
        for detail in _delta(ps[i])["reasoning_details"]:
            detail.pop("type", None)


@fault(
    "structured-off-schema",
    'The content is the JSON object {"answer": "Paris"}: valid JSON, streamed in pieces, but not what the requested schema says.',
    ("structured.schema",),
    ("structured",),
)
def _structured_off_schema(wire: Wire, ctx: FaultContext) -> None:
    ps = wire.materialize()
    where = _with(ps, "content")
    text = '{"answer": "Paris"}'
    size = -(-len(text) // len(where))
    for k, i in enumerate(where):
        _delta(ps[i])["content"] = text[k * size : (k + 1) * size]


# ---- legal, but hostile to whoever renders it -----------------------------------------

MARKUP = '<script>alert("sse")</script></td></tr><img src=x onerror=alert(1)>'


@fault(
    "html-content",
    "The answer's text carries HTML and script (legal: reports must escape it, never run it).",
    (),
    TEXT,
    legal=True,
)
def _html_content(wire: Wire, ctx: FaultContext) -> None:
    ps = wire.materialize()
    texts = _with(ps, "content")
    if texts:
        _delta(ps[texts[0]])["content"] = MARKUP + _delta(ps[texts[0]])["content"]
