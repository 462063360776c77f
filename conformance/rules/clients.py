"""Section 11, replayed: what real clients end up with, against the spec's reading.

Each rule compares one client's reading (filled in by the replay step, conformance/clients,
when ``--clients`` asks for it) with the suite's assembled message: content, reasoning, tool
calls (id, name, arguments), finish reason, usage, and the stream's own mid-stream error. A
client can be wrong where the spec is right, so these are warnings, and each finding says
which side is at fault when the stream shows a known client trap. Pure comparison: the
replay itself (subprocesses, SDKs) never runs here.

Folds (rules/fold.py), one class per client: the readings are known before the pass, so a
client that was not replayed folds nothing; one that was keeps, per choice, the reasoning
text per field (as the assembler keeps content), and for the stream only flags and counts
(the known traps, whether an error event's message shows in the client's error).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, NamedTuple

from ..findings import Violation
from ..sse import Block
from ..stream import KIND_CHUNK, KIND_ERROR, DecodedEvent, Visit, as_index
from . import rule
from ._util import show
from .fold import Context, End, Fold

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


def _not_applicable(client: Client) -> Callable[[End], str | None]:
    def applies(end: End) -> str | None:
        reading = end.clients.get(client.name)
        if reading is None:
            return NOT_REQUESTED
        if reading.get("status") == "skipped":
            return f"skipped: {reading.get('error')}"
        if client.one_choice and len(end.choices) > 1:
            return f"skipped: {client.title} reads one choice (choices[0] of each chunk); this stream has {len(end.choices)}"
        return None

    return applies


def _counts(usage: Any) -> dict[str, Any] | None:
    if not isinstance(usage, dict):
        return None
    return {k: usage.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens")}


STREAM_SIDE, CLIENT_SIDE = "stream", "client"
_LISTS = ("reasoning_details", "annotations")  # list delta fields a client merges by index


class ClientFold(Fold):
    """One client's reading against the spec's reading of the stream, built up in one pass."""

    client: ClassVar[Client]
    # a plain chunk changes nothing here: its delta is content alone, its keys (message,
    # error) are the template's, which was seen; the chunks after the usage chunk are told
    # by End's last chunk, not counted
    needs_plain = False

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        reading = ctx.clients.get(self.client.name)
        # nothing to compare with (not replayed, or skipped): the rule is not applicable
        self.on = isinstance(reading, dict) and reading.get("status") != "skipped"
        if not self.on:
            self.hooks = frozenset()
        api_error = reading.get("api_error") if isinstance(reading, dict) else None
        self.api_error: str | None = api_error if isinstance(api_error, str) else None
        # per choice: the reasoning text per field, as the spec reads each (section 8)
        self.flat: dict[int, list[str]] = {}
        self.details: dict[int, list[str]] = {}
        # the stream's mid-stream errors: any, the first message, and whether any message
        # shows in what the client surfaced
        self.errors = 0
        self.first_text: str | None = None
        self.text_shown = False
        # known traps
        self.dataless = False
        self.usage_at: int | None = None  # event index of the last chunk whose usage is an object
        self.error_key = False
        self.message_key = False
        self.rank: dict[int, int] = {}  # choice index -> its rank in first-appearance order
        self.visits = 0
        self.unindexed: dict[str, list[Any]] = {}  # list field -> [deltas with an entry without index, (rank, visit) of the first]

    def block(self, b: Block) -> None:
        if self.on and (b.fields & {"event", "id", "retry"} or b.after_id):
            self.dataless = True

    def payload(self, item: DecodedEvent) -> None:
        if not self.on:
            return
        obj = item.obj
        if item.kind == KIND_CHUNK:
            if isinstance(obj.get("usage"), dict):
                self.usage_at = item.event.index
            if "error" in obj:
                self.error_key = True
        elif item.kind == KIND_ERROR:
            self.errors += 1
            err = obj.get("error")
            text = err.get("message") if isinstance(err, dict) and isinstance(err.get("message"), str) else None
            if text:
                if self.first_text is None:
                    self.first_text = text
                if self.api_error is not None and text in self.api_error:
                    self.text_shown = True

    def visit(self, idx: int, v: Visit) -> None:
        if not self.on:
            return
        d = v.delta
        rank = self.rank.get(idx)
        if rank is None:
            rank = self.rank[idx] = len(self.rank)
        self.visits += 1
        if len(d) == 1 and d.get("content").__class__ is str:  # most deltas: one text piece
            if "message" in v.choice:
                self.message_key = True
            return
        value = d.get("reasoning_content") if isinstance(d.get("reasoning_content"), str) and d.get("reasoning_content") else d.get("reasoning")
        if isinstance(value, str):
            self.flat.setdefault(idx, []).append(value)
        items = d.get("reasoning_details")
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                text = item.get("text") if isinstance(item.get("text"), str) and item.get("text") else item.get("summary")
                if isinstance(text, str):
                    self.details.setdefault(idx, []).append(text)
        if "message" in v.choice:
            self.message_key = True
        for key in _LISTS:
            entries = d.get(key)
            if isinstance(entries, list) and any(isinstance(e, dict) and as_index(e.get("index")) is None for e in entries):
                seen = self.unindexed.get(key)
                if seen is None:
                    self.unindexed[key] = [1, (rank, self.visits)]
                else:
                    seen[0] += 1

    # ------------------------------------------------------------------ at the end

    def expected(self, end: End) -> dict[str, Any]:
        """The spec's reading, in the terms this client reports (the fields it models)."""
        client = self.client
        choices: dict[int, dict[str, Any]] = {}
        for idx, msg in sorted(end.message.items()):
            if client.one_choice and choices:
                break
            flat, details = "".join(self.flat.get(idx, ())), "".join(self.details.get(idx, ()))
            calls = [{"id": t.id, "name": t.name, "arguments": t.arguments} for t in msg.tool_calls if t.index is not None]
            choices[idx] = {"content": msg.content, "reasoning": flat if client.reasoning != "none" else None,
                            "reasoning_details": details if client.reasoning == "all" else None,
                            "tool_calls": calls, "finish_reason": msg.finish_reason}
        return {"choices": choices, "usage": _counts(end.last_usage)}

    def known_traps(self, end: End) -> list[tuple[str, str]]:
        """Shapes of this stream known to make clients lose data, each with the side the spec puts
        at fault: the stream where the spec forbids the shape (an error rule, or the conditional
        error of compat.no-bom/no-trailing-cr, which is an error exactly when a client loses an
        event that matters), the client where the spec allows it."""
        traps: list[tuple[str, str]] = []
        if end.bom:
            traps.append(("the body starts with a BOM (compat.no-bom)", STREAM_SIDE))
        if end.size and end.read(end.size - 1, 1) == b"\r":
            traps.append(("the body ends in a lone CR (compat.no-trailing-cr)", STREAM_SIDE))
        if self.dataless:
            traps.append(("a dataless block or an empty block after id: (compat.no-dataless-blocks)", STREAM_SIDE))
        last = end.last_chunk
        if self.usage_at is not None and last is not None and self.usage_at != last.event.index:
            traps.append(("a chunk follows the usage chunk (compat.usage-last, a warning: OpenAI's own streams do it)", CLIENT_SIDE))
        if self.error_key:
            marker = ("chunks with an error key that reads as false, a no-error marker by the spec (section 0); "
                      "openai-node takes {} and [] for errors, the AI SDK any error key")
            traps.append((marker, CLIENT_SIDE))
        if self.message_key:
            traps.append(("a chunk choice carries a message object (compat.no-choice-message)", STREAM_SIDE))
        for key, (n, _) in sorted(self.unindexed.items(), key=lambda kv: kv[1][1]):
            if n > 1:
                traps.append((f"{key} entries without index in {n} deltas (compat.list-delta-index)", STREAM_SIDE))
        return traps

    def side(self, end: End) -> str:
        name = self.client.name
        traps = self.known_traps(end)
        forbidden = [text for text, side in traps if side == STREAM_SIDE]
        allowed = [text for text, side in traps if side == CLIENT_SIDE]
        if forbidden:
            return (f"Which side: the stream. It shows {'; '.join(forbidden)}: the spec rules it out because it trips "
                    f"clients such as {name} (see that rule's finding); fix the stream.")
        if allowed:
            return (f"Which side: the client. The stream shows {'; '.join(allowed)}: allowed by the spec, "
                    f"but a known trap for {name}, which loses data where the spec's reading does not.")
        return ("Which side: unknown. No known client trap in this stream: if no error-level rule failed, "
                f"{name} deviates from the spec's reading (report it to the client); otherwise fix the stream first.")

    def diffs(self, want: dict[str, Any], got: dict[str, Any]) -> list[tuple[str, Any, Any]]:
        client = self.client
        out: list[tuple[str, Any, Any]] = []
        received = {c.get("index"): c for c in got.get("choices") or [] if isinstance(c, dict)}
        if client.one_choice and want["choices"] and received:  # choices[0] of each chunk, whatever its index
            received = {next(iter(want["choices"])): next(iter(received.values()))}
        for idx in sorted(set(want["choices"]) | {k for k in received if isinstance(k, int)}):
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
        if self.errors:
            text = self.first_text
            if api_error is None or (text is not None and not self.text_shown):
                out.append(("mid-stream error", f"the stream's error event surfaced ({show(text) if text else 'no message'})", api_error))
        elif api_error is not None:
            out.append(("mid-stream error", None, api_error))
        return out

    def finish(self, end: End) -> Iterator[Violation]:
        client = self.client
        got = end.clients[client.name]
        want = self.expected(end)
        side = self.side(end)
        if got.get("status") == "raised":
            lines = [f"raised: {got.get('error')}",
                     f"{client.title} raised instead of ending with the spec's reading.",
                     f"Expected: {show(want['choices'], 300)}",
                     f"Received: {got.get('error')}"]
            yield Violation("\n".join(lines + [side]))
            return
        diffs = self.diffs(want, got)
        if diffs:
            lines = [f"differs: {', '.join(what for what, _, _ in diffs)}",
                     f"{client.title} ends with a different message than the spec's reading."]
            for what, w, g in diffs:
                lines += [f"{what}:", f"  Expected: {show(w, 300)}", f"  Received: {show(g, 300)}"]
            yield Violation("\n".join(lines + [side]))


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


def _fold_for(client: Client) -> type[ClientFold]:
    """The fold class of one client, named as the rule's function was (client_openai_python)."""
    name = "client_" + client.name.replace("-", "_")
    cls = type(name, (ClientFold,), {"client": client, "__module__": __name__, "__doc__": f"client.{client.name}: {client.title}."})
    cls.__qualname__ = name
    return cls


for _client in CLIENTS:
    rule(
        f"client.{_client.name}",
        section="11",
        title=f"{_client.title} ends with the spec's reading of the stream (with --clients).",
        why=_client.why,
        severity="warning",
        applies=_not_applicable(_client),
    )(_fold_for(_client))
