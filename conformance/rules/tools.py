"""Section 7: tool-call fragments, their indexes, assembly and finish.

Folds (rules/fold.py): the fragment rules judge each delta.tool_calls entry as its chunk
passes, remembering per choice only what a later fragment is compared with (how many dense
indexes, each call's first id/type/name); the rules over assembled calls read the shared
assembler's message at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from ..findings import Violation
from ..schemas import get_schema
from ..stream import ToolCall, Visit, as_index
from . import rule
from ._util import is_int, user_schema_error
from .fold import ARGUMENTS, MAX_FINDINGS, PLAIN_KINDS, Context, End, Findings, Fold
from .wording import expected_received, named, shown


def _needs_request(end: End) -> str | None:
    return None if end.exchange.request is not None else "needs the request (no sidecar with 'request')"


def _request_tools(end: End) -> dict[str, dict[str, Any]]:
    """Declared tool name -> its function object."""
    out: dict[str, dict[str, Any]] = {}
    tools = (end.exchange.request or {}).get("tools")
    if isinstance(tools, list):
        for tool in tools:
            fn = tool.get("function") if isinstance(tool, dict) else None
            if isinstance(fn, dict) and isinstance(fn.get("name"), str):
                out[fn["name"]] = fn
    return out


def no_tool_calls(end: End) -> str | None:
    """Any delta.tool_calls entry at all, even one that is not an object (counted once, by the assembler)."""
    return None if any(msg.tool_entries for msg in end.message.values()) else "the stream has no tool calls"


# A violation past the cap: only counted (Findings keeps MAX_FINDINGS per key).
UNKEPT = Violation("")


def _entries(visit: Visit) -> list[Any]:
    """The delta.tool_calls entries of one appearance of a choice ([] when there are none)."""
    tcs = visit.delta.get("tool_calls")
    return tcs if isinstance(tcs, list) else []


def _path(visit: Visit, k: int, tail: str = "") -> str:
    return f"$.choices[{visit.pos}].delta.tool_calls[{k}]{tail}"


@rule(
    "tools.index",
    section="7",
    title="Every delta.tool_calls entry has an integer index.",
    why="Clients merge fragments by index; the OpenAI SDK's stream helper raises on an entry without one.",
    applies=no_tool_calls,
)
class Index(Fold):
    """Each entry judged as it passes; findings by choice, then stream order."""

    needs_plain = False  # a plain delta holds content alone, no tool_calls
    plain_kinds = PLAIN_KINDS  # as idle on a reasoning or arguments plain chunk (rules/fold.py)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.found = Findings()

    def visit(self, idx: int, v: Visit) -> None:
        for k, entry in enumerate(_entries(v)):
            if not isinstance(entry, dict):
                text = expected_received(
                    f"A tool-call entry of choice {idx} is not an object.", expected="an object with an integer index", received=shown(entry)
                )
                self.found.add(Violation(text, v.item.event, path=_path(v, k)), idx)
            elif not is_int(entry.get("index")):
                got = "no index" if "index" not in entry else named("index", entry["index"])
                text = expected_received(
                    f"A tool-call entry of choice {idx} has {'no index' if 'index' not in entry else 'an index that is not an integer'}; it belongs to no call.",
                    expected="an integer index",
                    received=got,
                )
                self.found.add(Violation(text, v.item.event, path=_path(v, k, ".index")), idx)

    def finish(self, end: End) -> Findings:
        return self.found


@rule(
    "tools.index-dense",
    section="7",
    title="Tool-call indexes of a choice start at 0 and grow by one in order of first appearance.",
    why="The OpenAI SDKs' stream() helpers crash, or silently merge calls, on a first index of 1 or a gap.",
    applies=no_tool_calls,
)
class IndexDense(Fold):
    """Per choice, the indexes seen so far are exactly 0..n-1 (a gap ends the judgement of
    that choice), so a count stands for the set; one finding per choice at most."""

    needs_plain = False  # a plain delta holds content alone, no tool_calls
    plain_kinds = PLAIN_KINDS  # as idle on a reasoning or arguments plain chunk (rules/fold.py)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.dense: dict[int, int] = {}  # choice index -> n, or -1 once it broke
        self.found = Findings()

    def visit(self, idx: int, v: Visit) -> None:
        tcs = v.delta.get("tool_calls")
        if not isinstance(tcs, list):
            return
        n = self.dense.get(idx, 0)
        if n < 0:
            return
        for k, entry in enumerate(tcs):
            if not isinstance(entry, dict) or not is_int(entry.get("index")):
                continue
            i = as_index(entry["index"])
            assert i is not None  # is_int above
            if 0 <= i < n:
                continue
            if i != n:
                self.found.add(
                    Violation(
                        expected_received(f"Choice {idx}'s tool calls are not numbered densely.", expected=f"index={n}", received=f"index={i}"),
                        v.item.event,
                        path=_path(v, k, ".index"),
                    ),
                    idx,
                )
                n = -1
                break
            n += 1
        self.dense[idx] = n

    def finish(self, end: End) -> Findings:
        return self.found


def _blank(value: Any) -> bool:
    return value is None or value == ""


@rule(
    "tools.first-fragment",
    section="7",
    title='The first fragment of each call carries id, type "function" and function.name; later ones change none (schemas/tool-call-delta.json).',
    why="The AI SDK cannot start a call without id and name; the OpenAI helper concatenates repeats ('call_1call_1').",
    applies=no_tool_calls,
)
class FirstFragment(Fold):
    """Per choice and call index, the first fragment's id, type and name (what later
    fragments are compared with); each fragment judged as it passes."""

    needs_plain = False  # a plain delta holds content alone, no tool_calls
    plain_kinds = PLAIN_KINDS  # as idle on a reasoning or arguments plain chunk (rules/fold.py)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.shape = get_schema("tool-call-delta.json")
        self.first: dict[int, dict[int, dict[str, Any]]] = {}  # choice -> call index -> fields
        self.found = Findings()

    def _found(self, violation: Violation, idx: int) -> None:
        self.found.add(violation, idx)
        # the template may be this chunk: its plain chunks would be found against too
        self.skip_plain(ARGUMENTS, False)

    def visit(self, idx: int, v: Visit) -> None:
        tcs = v.delta.get("tool_calls")
        if not isinstance(tcs, list):
            return
        first = self.first.setdefault(idx, {})
        for k, entry in enumerate(tcs):
            if not isinstance(entry, dict) or not is_int(entry.get("index")):
                continue  # tools.index reports it
            i = as_index(entry["index"])
            assert i is not None  # is_int above
            if not self.shape.is_valid(entry):
                if self.found.count(idx) >= MAX_FINDINGS:  # counted, not described (jsonschema's
                    self._found(UNKEPT, idx)  # errors are costly and cyclic)
                    continue
                self._found(
                    Violation(
                        expected_received(
                            f"A fragment of tool call {i} (choice {idx}) does not match tool-call-delta.json.",
                            expected="a fragment that matches tool-call-delta.json",
                            received=self.shape.first_error(entry) or shown(entry),
                        ),
                        v.item.event,
                        path=_path(v, k),
                    ),
                    idx,
                )
                continue
            raw_fn = entry.get("function")
            fn: dict[str, Any] = raw_fn if isinstance(raw_fn, dict) else {}
            fields = {"id": entry.get("id"), "type": entry.get("type"), "function.name": fn.get("name")}
            if i not in first:
                first[i] = fields
                # "carries" is section 0's: present and not null (an empty string is carried)
                missing = [n for n in ("id", "function.name") if not isinstance(fields[n], str)]
                if fields["type"] != "function":
                    missing.append("type='function'")
                if missing:
                    self._found(
                        Violation(
                            expected_received(
                                f"The first fragment of tool call {i} (choice {idx}) lacks {', '.join(missing)}.",
                                expected="id, type='function' and function.name",
                                received=shown(entry),
                            ),
                            v.item.event,
                            path=_path(v, k),
                        ),
                        idx,
                    )
                continue
            for name, value in fields.items():
                if not _blank(value) and value != first[i][name]:
                    self._found(
                        Violation(
                            expected_received(
                                f"A later fragment of tool call {i} (choice {idx}) changes {name}.",
                                expected=f"absent, empty or {shown(first[i][name])}",
                                received=named(name, value),
                            ),
                            v.item.event,
                            path=_path(v, k),
                        ),
                        idx,
                    )

    def finish(self, end: End) -> Findings:
        return self.found


def _calls(end: End) -> Iterator[tuple[int, ToolCall, Visit, Visit]]:
    """Each assembled call that has an index: (choice, call, its first and its last fragment)."""
    for idx, msg in sorted(end.message.items()):
        for call in msg.tool_calls:
            if call.index is not None:
                assert call.first is not None and call.last is not None  # a call exists by its fragments
                yield idx, call, call.first, call.last


def _parse_args(arguments: str) -> tuple[Any, str | None]:
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError as exc:
        return None, f"not JSON ({exc})"
    if not isinstance(value, dict):
        return value, f"a JSON {type(value).__name__}, not an object"
    return value, None


@rule(
    "tools.arguments-json",
    section="7",
    title="The concatenated function.arguments of each call parse as one JSON object ({} when there are none).",
    why="Every client parses the arguments to call the function; an empty string fails JSON.parse too.",
    applies=no_tool_calls,
)
class ArgumentsJSON(Fold):
    """The assembled calls, at the end (the shared assembler keeps each call's arguments)."""

    def finish(self, end: End) -> Iterator[Violation]:
        for idx, call, _first, last in _calls(end):
            _, problem = _parse_args(call.arguments)
            if problem:
                yield Violation(
                    expected_received(
                        f"The arguments of tool call {call.index} (choice {idx}, {shown(call.name)}) are {problem}.",
                        expected="one JSON object",
                        received=named("arguments", call.arguments),
                    ),
                    last.item.event,
                )


CUT_SHORT = {"tool_calls", "length", "content_filter", "error"}


@rule(
    "tools.finish-reason",
    section="7",
    title="A choice with tool calls finishes with tool_calls (or a cut: length, content_filter, error); one without never does.",
    why="Agents run the tools only on finish_reason tool_calls; a stray tool_calls finish makes them look for calls that are not there.",
)
class FinishReason(Fold):
    """End facts alone: each choice's finish and whether it streamed a tool-call entry."""

    def finish(self, end: End) -> Iterator[Violation]:
        for idx, msg in sorted(end.message.items()):
            fr = msg.finish_reason
            if fr is None:
                continue
            finisher = end.choices[idx].finish
            event = finisher.item.event if finisher is not None else end.error_finishes[idx].event
            if msg.tool_entries and fr not in CUT_SHORT:
                text = expected_received(
                    f"Choice {idx} streamed tool calls but does not finish with tool_calls.",
                    expected="finish_reason='tool_calls' (or a cut: length, content_filter, error)",
                    received=named("finish_reason", fr),
                )
                yield Violation(text, event)
            elif not msg.tool_entries and fr == "tool_calls":
                text = expected_received(
                    f"Choice {idx} finishes with 'tool_calls' but streamed no tool call.",
                    expected="a finish_reason other than 'tool_calls'",
                    received=named("finish_reason", fr),
                )
                yield Violation(text, event)


def _declared_applies(end: End) -> str | None:
    return _needs_request(end) or no_tool_calls(end)


@rule(
    "tools.declared",
    section="7",
    title="Each called function is one of the request's tools.",
    why="A client cannot dispatch a call to a function it never declared.",
    applies=_declared_applies,
)
class Declared(Fold):
    """The assembled calls against the request's tools, at the end."""

    def finish(self, end: End) -> Iterator[Violation]:
        names = _request_tools(end)
        for idx, call, first, _last in _calls(end):
            if call.name is not None and call.name not in names:
                listed = ", ".join(sorted(names)) or "none"
                yield Violation(
                    expected_received(
                        f"Tool call {call.index} (choice {idx}) calls a function the request did not declare.",
                        expected=f"one of the declared tools: {listed}",
                        received=named("function.name", call.name),
                    ),
                    first.item.event,
                )


@rule(
    "tools.arguments-schema",
    section="7",
    title="Assembled arguments validate against the tool's parameters schema.",
    why="Arguments that break the declared schema make the function call fail in the client.",
    severity="warning",
    applies=_declared_applies,
)
class ArgumentsSchema(Fold):
    """The assembled arguments against the declared parameters schema, at the end."""

    def finish(self, end: End) -> Iterator[Violation]:
        declared_tools = _request_tools(end)
        for idx, call, _first, last in _calls(end):
            fn = declared_tools.get(call.name or "")
            params = fn.get("parameters") if fn else None
            if not isinstance(params, dict):
                continue
            args, problem = _parse_args(call.arguments)
            if problem:
                continue  # tools.arguments-json reports it
            error = user_schema_error(params, args)
            if error:
                yield Violation(
                    expected_received(
                        f"The arguments of tool call {call.index} (choice {idx}, {shown(call.name)}) break its parameters schema.",
                        expected="arguments that validate against the declared parameters",
                        received=f"{error}; {named('arguments', call.arguments)}",
                    ),
                    last.item.event,
                )
