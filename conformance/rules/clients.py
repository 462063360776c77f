"""Section 11, replayed: what real clients end up with, against the spec's reading.

Each rule compares one client's reading (filled in by the replay step, conformance/clients,
when ``--clients`` asks for it) with the suite's assembled message: content, reasoning, tool
calls (id, name, arguments), finish reason, usage, and the stream's own mid-stream error. A
client can be wrong where the spec is right, so these are warnings, and each finding says
which side is at fault when the stream shows a known client trap. Pure comparison: the
replay itself (subprocesses, SDKs) never runs here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, NamedTuple

from ..findings import Violation
from ..stream import Stream, as_index
from . import rule
from ._util import show

NOT_REQUESTED = "client replay not requested (--clients)"


class Client(NamedTuple):
    name: str
    title: str
    reasoning: str  # "all": the flat field and reasoning_details; "flat": reasoning_content/reasoning only; "none": not modelled
    one_choice: bool = False  # reads choices[0] of each chunk only
    why: str = ""


CLIENTS = [
    Client("openai-python", "openai-python's raw iteration (create(stream=True))", "all",
           why="The most used Python client; raw iteration parses each event as JSON and raises on anything else (an empty data after a dataless block)."),
    Client("openai-python-stream", "openai-python's chat.completions.stream() accumulator", "all",
           why="The accumulator merges delta lists by index and overwrites the snapshot's top-level fields with each chunk's: "
               "entries without index raise, a chunk after the usage chunk resets usage."),
    Client("httpx-sse", "httpx-sse (iter_sse + json.loads)", "all",
           why="The common hand-written Python consumer: after one id: line every blank line dispatches an empty event, and a leading BOM loses the first event."),
    Client("openai-node", "openai-node's raw iteration (create({stream: true}))", "all",
           why="The most used Node client; raw iteration parses each event as JSON."),
    Client("openai-node-stream", "openai-node's ChatCompletionStream accumulator (stream())", "none",
           why="ChatCompletionStream copies any extra choice field (message) over the accumulated message and each chunk's top-level fields "
               "over the snapshot; it does not accumulate reasoning fields (not compared)."),
    Client("vercel-ai", "the Vercel AI SDK (streamText over @ai-sdk/openai-compatible)", "flat", one_choice=True,
           why="eventsource-parser waits for an LF after a final CR and never dispatches the last event; "
               "the provider reads reasoning_content/reasoning only, and choices[0] only."),
]


def _not_applicable(client: Client) -> Any:
    def applies(stream: Stream) -> str | None:
        reading = stream.clients.get(client.name)
        if reading is None:
            return NOT_REQUESTED
        if reading.get("status") == "skipped":
            return f"skipped: {reading.get('error')}"
        if client.one_choice and len(stream.choices) > 1:
            return f"skipped: {client.title} reads one choice (choices[0] of each chunk); this stream has {len(stream.choices)}"
        return None

    return applies


def _counts(usage: Any) -> dict[str, Any] | None:
    if not isinstance(usage, dict):
        return None
    return {k: usage.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens")}


def _reasoning(stream: Stream, index: int) -> tuple[str, str]:
    """The choice's reasoning per field, as the spec reads each (section 8): the flat string
    (reasoning_content, else reasoning) and the reasoning_details items' text. Compared apart,
    since a server may send the same reasoning in both and clients keep the fields apart."""
    flat, details = [], []
    for visit in stream.choices.get(index, []):
        d = visit.delta
        value = d.get("reasoning_content") if isinstance(d.get("reasoning_content"), str) and d.get("reasoning_content") else d.get("reasoning")
        if isinstance(value, str):
            flat.append(value)
        items = d.get("reasoning_details")
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                text = item.get("text") if isinstance(item.get("text"), str) and item.get("text") else item.get("summary")
                if isinstance(text, str):
                    details.append(text)
    return "".join(flat), "".join(details)


def expected(stream: Stream, client: Client) -> dict[str, Any]:
    """The spec's reading, in the terms this client reports (the fields it models)."""
    choices: dict[int, dict[str, Any]] = {}
    for idx, msg in sorted(stream.message.items()):
        if client.one_choice and choices:
            break
        flat, details = _reasoning(stream, idx)
        calls = [{"id": t.id, "name": t.name, "arguments": t.arguments} for t in msg.tool_calls if t.index is not None]
        choices[idx] = {"content": msg.content, "reasoning": flat if client.reasoning != "none" else None,
                        "reasoning_details": details if client.reasoning == "all" else None,
                        "tool_calls": calls, "finish_reason": msg.finish_reason}
    usage = next((m.usage for m in stream.message.values()), None)
    if usage is None:
        for item in stream.chunks:
            if isinstance(item.obj.get("usage"), dict):
                usage = item.obj["usage"]
    messages = []
    for item in stream.errors:
        err = item.obj.get("error")
        messages.append(err.get("message") if isinstance(err, dict) and isinstance(err.get("message"), str) else None)
    return {"choices": choices, "usage": _counts(usage), "errors": messages}


STREAM_SIDE, CLIENT_SIDE = "stream", "client"


def known_traps(stream: Stream) -> list[tuple[str, str]]:
    """Shapes of this stream known to make clients lose data, each with the side the spec puts
    at fault: the stream where the spec forbids the shape (an error rule, or the conditional
    error of compat.no-bom/no-trailing-cr, which is an error exactly when a client loses an
    event that matters), the client where the spec allows it."""
    traps: list[tuple[str, str]] = []
    if stream.parser.bom:
        traps.append(("the body starts with a BOM (compat.no-bom)", STREAM_SIDE))
    if stream.exchange.body.endswith(b"\r"):
        traps.append(("the body ends in a lone CR (compat.no-trailing-cr)", STREAM_SIDE))
    if any(b.fields & {"event", "id", "retry"} or b.after_id for b in stream.parser.skipped):
        traps.append(("a dataless block or an empty block after id: (compat.no-dataless-blocks)", STREAM_SIDE))
    usage_at = [i for i, item in enumerate(stream.chunks) if isinstance(item.obj.get("usage"), dict)]
    if usage_at and usage_at[-1] < len(stream.chunks) - 1:
        traps.append(("a chunk follows the usage chunk (compat.usage-last, a warning: OpenAI's own streams do it)", CLIENT_SIDE))
    if any("error" in item.obj for item in stream.chunks):
        traps.append(("chunks with an error key that reads as false, a no-error marker by the spec (section 0); "
                      "openai-node takes {} and [] for errors, the AI SDK any error key", CLIENT_SIDE))
    seen: dict[str, int] = {}
    for visits in stream.choices.values():
        for visit in visits:
            if "message" in visit.choice:
                traps.append(("a chunk choice carries a message object (compat.no-choice-message)", STREAM_SIDE))
            for key in ("reasoning_details", "annotations"):
                entries = visit.delta.get(key)
                if isinstance(entries, list) and any(isinstance(e, dict) and as_index(e.get("index")) is None for e in entries):
                    seen[key] = seen.get(key, 0) + 1
    traps += [(f"{key} entries without index in {n} deltas (compat.list-delta-index)", STREAM_SIDE) for key, n in seen.items() if n > 1]
    return list(dict.fromkeys(traps))


def _side(stream: Stream, client: Client) -> str:
    traps = known_traps(stream)
    forbidden = [text for text, side in traps if side == STREAM_SIDE]
    allowed = [text for text, side in traps if side == CLIENT_SIDE]
    if forbidden:
        return (f"Which side: the stream. It shows {'; '.join(forbidden)}: the spec rules it out because it trips "
                f"clients such as {client.name} (see that rule's finding); fix the stream.")
    if allowed:
        return (f"Which side: the client. The stream shows {'; '.join(allowed)}: allowed by the spec, "
                f"but a known trap for {client.name}, which loses data where the spec's reading does not.")
    return ("Which side: unknown. No known client trap in this stream: if no error-level rule failed, "
            f"{client.name} deviates from the spec's reading (report it to the client); otherwise fix the stream first.")


def _same_args(call: dict[str, Any]) -> tuple[Any, Any, str]:
    """A call compared by id, name and the JSON value of its arguments (a client that parses
    and re-serialises them, the AI SDK, changes spacing, not meaning)."""
    args = call.get("arguments")
    if args == "":
        args = "{}"  # no arguments: the spec reads {} (section 7), and so do clients that parse
    try:
        value = json.dumps(json.loads(args), sort_keys=True) if isinstance(args, str) and args.strip() else args
    except ValueError:
        value = args
    return call.get("id"), call.get("name"), str(value)


def _diffs(want: dict[str, Any], got: dict[str, Any], client: Client) -> list[tuple[str, Any, Any]]:
    out: list[tuple[str, Any, Any]] = []
    received = {c.get("index"): c for c in got.get("choices") or [] if isinstance(c, dict)}
    if client.one_choice and want["choices"] and received:  # choices[0] of each chunk, whatever its index
        received = {next(iter(want["choices"])): next(iter(received.values()))}
    for idx in sorted(set(want["choices"]) | set(k for k in received if isinstance(k, int))):
        w, g = want["choices"].get(idx), received.get(idx)
        if w is None or g is None:
            out.append((f"choice {idx}", "present" if w else "absent", "present" if g else "absent"))
            continue
        for key in ("content", "reasoning", "reasoning_details", "finish_reason"):
            if key.startswith("reasoning") and w[key] is None:
                continue  # not modelled by this client
            if w[key] != (g.get(key) or "" if key.startswith("reasoning") else g.get(key)):
                out.append((f"choice {idx} {key}", w[key], g.get(key)))
        gcalls = [{k: c.get(k) for k in ("id", "name", "arguments")} for c in g.get("tool_calls") or []]
        wcalls = w["tool_calls"]
        if client.one_choice:  # the AI SDK makes up an id where the stream sent none
            gcalls = [{**gc, "id": gc["id"] if i < len(wcalls) and wcalls[i]["id"] is not None else None} for i, gc in enumerate(gcalls)]
        if [_same_args(c) for c in wcalls] != [_same_args(c) for c in gcalls]:
            out.append((f"choice {idx} tool_calls", wcalls, gcalls))
    if want["usage"] != got.get("usage"):
        out.append(("usage", want["usage"], got.get("usage")))
    api_error = got.get("api_error")
    if want["errors"]:
        texts = [m for m in want["errors"] if m]
        if api_error is None or (texts and not any(t in api_error for t in texts)):
            out.append(("mid-stream error", f"the stream's error event surfaced ({show(texts[0]) if texts else 'no message'})", api_error))
    elif api_error is not None:
        out.append(("mid-stream error", None, api_error))
    return out


def _check(client: Client) -> Any:
    def check(stream: Stream) -> Iterator[Violation]:
        got = stream.clients[client.name]
        want = expected(stream, client)
        side = _side(stream, client)
        if got.get("status") == "raised":
            lines = [f"raised: {got.get('error')}",
                     f"{client.title} raised instead of ending with the spec's reading.",
                     f"Expected: {show(want['choices'], 300)}",
                     f"Received: {got.get('error')}"]
            yield Violation("\n".join(lines + [side]))
            return
        diffs = _diffs(want, got, client)
        if diffs:
            lines = [f"differs: {', '.join(what for what, _, _ in diffs)}",
                     f"{client.title} ends with a different message than the spec's reading."]
            for what, w, g in diffs:
                lines += [f"{what}:", f"  Expected: {show(w, 300)}", f"  Received: {show(g, 300)}"]
            yield Violation("\n".join(lines + [side]))

    check.__name__ = check.__qualname__ = "client_" + client.name.replace("-", "_")
    return check


for _client in CLIENTS:
    rule(
        f"client.{_client.name}",
        section="11",
        title=f"{_client.title} ends with the spec's reading of the stream (with --clients).",
        why=_client.why,
        severity="warning",
        applies=_not_applicable(_client),
    )(_check(_client))
