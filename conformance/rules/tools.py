"""Section 7: tool-call fragments, their indexes, assembly and finish."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from ..findings import Violation
from ..schemas import get_schema
from ..stream import Stream, Visit, as_index
from . import rule
from ._util import is_int, needs_request, no_tool_calls, request_tools, show, user_schema_error


def _entries(visits: list[Visit]) -> Iterator[tuple[Visit, int, Any]]:
    """Every delta.tool_calls entry of a choice: (visit, position in the list, entry)."""
    for visit in visits:
        tcs = visit.delta.get("tool_calls")
        if isinstance(tcs, list):
            for k, entry in enumerate(tcs):
                yield visit, k, entry


def _path(visit: Visit, k: int, tail: str = "") -> str:
    return f"$.choices[{visit.pos}].delta.tool_calls[{k}]{tail}"


@rule(
    "tools.index",
    section="7",
    title="Every delta.tool_calls entry has an integer index.",
    why="Clients merge fragments by index; the OpenAI SDK's stream helper raises on an entry without one.",
    applies=no_tool_calls,
)
def index(stream: Stream) -> Iterator[Violation]:
    for idx, visits in sorted(stream.choices.items()):
        for visit, k, entry in _entries(visits):
            if not isinstance(entry, dict):
                yield Violation(f"A tool-call entry of choice {idx} is not an object: {show(entry)}", visit.item.event, path=_path(visit, k))
            elif not is_int(entry.get("index")):
                got = "no index" if "index" not in entry else f"index={show(entry['index'])}"
                yield Violation(f"A tool-call entry of choice {idx} has {got}; it belongs to no call.", visit.item.event, path=_path(visit, k, ".index"))


@rule(
    "tools.index-dense",
    section="7",
    title="Tool-call indexes of a choice start at 0 and grow by one in order of first appearance.",
    why="The OpenAI SDKs' stream() helpers crash, or silently merge calls, on a first index of 1 or a gap.",
    applies=no_tool_calls,
)
def index_dense(stream: Stream) -> Iterator[Violation]:
    for idx, visits in sorted(stream.choices.items()):
        seen: set[int] = set()
        for visit, k, entry in _entries(visits):
            if not isinstance(entry, dict) or not is_int(entry.get("index")):
                continue
            i = as_index(entry["index"])
            if i in seen:
                continue
            if i != len(seen):
                yield Violation(
                    f"Choice {idx}'s tool calls are not numbered densely.\nExpected: index={len(seen)}\nReceived: index={i}",
                    visit.item.event,
                    path=_path(visit, k, ".index"),
                )
                break
            seen.add(i)


def _blank(value: Any) -> bool:
    return value is None or value == ""


@rule(
    "tools.first-fragment",
    section="7",
    title='The first fragment of each call carries id, type "function" and function.name; later ones change none (schemas/tool-call-delta.json).',
    why="The AI SDK cannot start a call without id and name; the OpenAI helper concatenates repeats ('call_1call_1').",
    applies=no_tool_calls,
)
def first_fragment(stream: Stream) -> Iterator[Violation]:
    shape = get_schema("tool-call-delta.json")
    for idx, visits in sorted(stream.choices.items()):
        first: dict[int, dict[str, Any]] = {}
        for visit, k, entry in _entries(visits):
            if not isinstance(entry, dict) or not is_int(entry.get("index")):
                continue  # tools.index reports it
            i = as_index(entry["index"])
            assert i is not None  # is_int above
            if not shape.is_valid(entry):
                yield Violation(
                    f"A fragment of tool call {i} (choice {idx}) does not match tool-call-delta.json: {shape.first_error(entry)}",
                    visit.item.event,
                    path=_path(visit, k),
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
                    yield Violation(
                        f"The first fragment of tool call {i} (choice {idx}) lacks {', '.join(missing)}: {show(entry)}",
                        visit.item.event,
                        path=_path(visit, k),
                    )
                continue
            for name, value in fields.items():
                if not _blank(value) and value != first[i][name]:
                    yield Violation(
                        f"A later fragment of tool call {i} (choice {idx}) changes {name}.\nExpected: absent, empty or {first[i][name]!r}\nReceived: {name}={show(value)}",
                        visit.item.event,
                        path=_path(visit, k),
                    )


def _calls(stream: Stream) -> Iterator[tuple[int, Any]]:
    for idx, msg in sorted(stream.message.items()):
        for call in msg.tool_calls:
            if call.index is not None:
                yield idx, call


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
def arguments_json(stream: Stream) -> Iterator[Violation]:
    for idx, call in _calls(stream):
        _, problem = _parse_args(call.arguments)
        if problem:
            yield Violation(
                f"The arguments of tool call {call.index} (choice {idx}, {call.name!r}) are {problem}: {show(call.arguments)}",
                call.fragments[-1].item.event,
            )


CUT_SHORT = {"tool_calls", "length", "content_filter", "error"}


@rule(
    "tools.finish-reason",
    section="7",
    title="A choice with tool calls finishes with tool_calls (or a cut: length, content_filter, error); one without never does.",
    why="Agents run the tools only on finish_reason tool_calls; a stray tool_calls finish makes them look for calls that are not there.",
)
def finish_reason(stream: Stream) -> Iterator[Violation]:
    for idx, msg in sorted(stream.message.items()):
        fr = msg.finish_reason
        if fr is None:
            continue
        positions = stream.finishes.get(idx)
        finisher = stream.choices[idx][positions[0]] if positions else None
        event = finisher.item.event if finisher is not None else stream.error_finishes[idx].event
        if msg.tool_entries and fr not in CUT_SHORT:
            yield Violation(f"Choice {idx} streamed tool calls but finishes with finish_reason={fr!r}.\nExpected: 'tool_calls'", event)
        elif not msg.tool_entries and fr == "tool_calls":
            yield Violation(f"Choice {idx} finishes with 'tool_calls' but streamed no tool call.", event)


def _declared_applies(stream: Stream) -> str | None:
    return needs_request(stream) or no_tool_calls(stream)


@rule(
    "tools.declared",
    section="7",
    title="Each called function is one of the request's tools.",
    why="A client cannot dispatch a call to a function it never declared.",
    applies=_declared_applies,
)
def declared(stream: Stream) -> Iterator[Violation]:
    names = request_tools(stream)
    for idx, call in _calls(stream):
        if call.name is not None and call.name not in names:
            listed = ", ".join(sorted(names)) or "none"
            yield Violation(f"Tool call {call.index} (choice {idx}) calls {call.name!r}, which the request did not declare (declared: {listed}).", call.fragments[0].item.event)


@rule(
    "tools.arguments-schema",
    section="7",
    title="Assembled arguments validate against the tool's parameters schema.",
    why="Arguments that break the declared schema make the function call fail in the client.",
    severity="warning",
    applies=_declared_applies,
)
def arguments_schema(stream: Stream) -> Iterator[Violation]:
    declared_tools = request_tools(stream)
    for idx, call in _calls(stream):
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
                f"The arguments of tool call {call.index} (choice {idx}, {call.name!r}) break its parameters schema at {error}",
                call.fragments[-1].item.event,
            )
