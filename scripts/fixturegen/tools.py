"""Tool calls (spec section 8): streamed tool calls that conform, and the tools.* violations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .corpus import CONFORMS, Fixture, fixture, warning
from .request import TIME_TOOL, WEATHER_PARAMS, WEATHER_TOOL, request, tool, tool_request
from .streams import Stream, frame, tool_call_args, tool_call_head, usage

FORECAST_TOOL = tool("get_forecast", WEATHER_PARAMS, "Weather forecast for a location")
PARIS = ['{"location": ', '"Paris, France"}']  # get_weather's arguments in two fragments


def weather_head(call_id: str = "call_wx_0001", index: int = 0) -> dict[str, Any]:
    return tool_call_head(index, call_id, "get_weather")


def finish(s: Stream, reason: str = "tool_calls") -> dict[str, Any]:
    """The finish chunk of a tool-call answer (usage 61/24)."""
    return s.finish(reason, usage(61, 24))


def weather_call(id: str, head: dict[str, Any] | None = None, fragments: list[str] = PARIS,
                 reason: str = "tool_calls") -> list[dict[str, Any]]:
    """Role, one get_weather call (the head, then its fragments), finish: most violations edit one part."""
    s = Stream(id)
    return [s.role(None), *s.tool_call(weather_head() if head is None else head, fragments), finish(s, reason)]


def fixtures() -> Iterator[Fixture]:
    yield from conformant()
    yield from index()
    yield from index_dense()
    yield from first_fragment()
    yield from arguments_json()
    yield from finish_reason()
    yield from declared()
    yield from arguments_schema()


def conformant() -> Iterator[Fixture]:
    s = Stream("gen-conf-tool-01")
    frags = ['{"location"', ': "Par', 'is, Fra', 'nce", "un', 'it": "cel', 'sius"}']
    chunks = [s.role(None), *s.tool_call(weather_head(), frags), s.finish("tool_calls", usage(61, 24))]
    yield fixture(CONFORMS, "tool-call", frame(chunks), "One tool call: the first fragment names it (index, id, "
                  "type, function.name, empty arguments), later fragments add arguments only; finish "
                  "`tool_calls`; the arguments satisfy the declared schema.", req=tool_request())

    # two calls whose fragments interleave
    s = Stream("gen-conf-tools-parallel-01")
    chunks = [
        s.role(None),
        s.delta({"tool_calls": [weather_head("call_wx_paris")]}),
        s.delta({"tool_calls": [tool_call_head(1, "call_tm_tokyo", "get_time")]}),
        s.delta({"tool_calls": [tool_call_args(0, '{"locat')]}),
        s.delta({"tool_calls": [tool_call_args(1, '{"timez')]}),
        s.delta({"tool_calls": [tool_call_args(0, 'ion": "Paris, France"')]}),
        s.delta({"tool_calls": [tool_call_args(1, 'one": "Asia/Tokyo"}')]}),
        s.delta({"tool_calls": [tool_call_args(0, "}")]}),
        s.finish("tool_calls", usage(88, 41)),
    ]
    yield fixture(CONFORMS, "tool-calls-parallel", frame(chunks, style="spaced"),
                  "Two parallel tool calls (indexes 0 and 1) whose fragments interleave; both declared.",
                  req=tool_request(WEATHER_TOOL, TIME_TOOL))


def index() -> Iterator[Fixture]:
    r = "tools.index"
    s = Stream("gen-v-tindex-01")
    whole = {"id": "call_wx_0001", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"location": "Paris, France"}'}}
    yield fixture(r, "index-missing", frame([s.role(None), s.delta({"tool_calls": [whole]}), finish(s)]),
                  "The whole tool call arrives in one entry without `index` (Gemini/Mistral style).",
                  req=tool_request())
    s = Stream("gen-v-tindex-02")
    head = weather_head()
    head["index"] = "0"
    frags = [{"index": "0", "function": {"arguments": f}} for f in PARIS]
    chunks = [s.role(None), s.delta({"tool_calls": [head]}), *(s.delta({"tool_calls": [f]}) for f in frags), finish(s)]
    yield fixture(r, "index-string", frame(chunks, style="spaced"),
                  "Every tool-call entry has `index: \"0\"`, a string, not an integer.", req=tool_request())


def index_dense() -> Iterator[Fixture]:
    r = "tools.index-dense"
    s = Stream("gen-v-dense-01")
    yield fixture(r, "starts-at-1", frame([s.role(None), *s.tool_call(weather_head(index=1), PARIS, 1), finish(s)]),
                  "The only tool call has `index: 1` (Anthropic content-block numbering); indexes must start at 0.",
                  req=tool_request())
    paris_tz = ['{"timezone": "Europe/Paris"}']
    s = Stream("gen-v-dense-02")
    ch = [s.role(None), *s.tool_call(weather_head(), PARIS, 0),
          *s.tool_call(tool_call_head(2, "call_tm_0002", "get_time"), paris_tz, 2), finish(s)]
    yield fixture(r, "gap", frame(ch, style="spaced"), "Two calls with indexes 0 and 2: index 1 is skipped.",
                  req=tool_request(WEATHER_TOOL, TIME_TOOL))
    s = Stream("gen-v-dense-03")
    ch = [s.role(None), *s.tool_call(tool_call_head(1, "call_tm_0002", "get_time"), paris_tz, 1),
          *s.tool_call(weather_head(), PARIS, 0), finish(s)]
    yield fixture(r, "out-of-order", frame(ch), "Call index 1 appears before call index 0.",
                  req=tool_request(WEATHER_TOOL, TIME_TOOL))


def first_fragment() -> Iterator[Fixture]:
    r = "tools.first-fragment"
    head = weather_head()
    del head["id"]
    yield fixture(r, "missing-id", frame(weather_call("gen-v-ff-01", head)),
                  "The first fragment of the call has no `id`.", req=tool_request())

    s = Stream("gen-v-ff-02")
    ch = [s.role(None), s.delta({"tool_calls": [weather_head()]}),
          s.delta({"tool_calls": [tool_call_args(0, PARIS[0])]}),
          s.delta({"tool_calls": [{"index": 0, "function": {"name": "get_forecast", "arguments": PARIS[1]}}]}),
          finish(s)]
    yield fixture(r, "name-changed", frame(ch, style="spaced"), "A later fragment renames the call from "
                  "`get_weather` to `get_forecast` (both declared, with the same parameters).",
                  req=tool_request(WEATHER_TOOL, FORECAST_TOOL))

    head = weather_head()
    del head["type"]
    yield fixture(r, "missing-type", frame(weather_call("gen-v-ff-03", head)),
                  "The first fragment of the call has no `type: \"function\"`.", req=tool_request())

    s = Stream("gen-v-ff-04")
    ch = [s.role(None), s.delta({"tool_calls": [weather_head()]}),
          s.delta({"tool_calls": [{"index": 0, "id": "call_wx_9999", "function": {"arguments": PARIS[0]}}]}),
          s.delta({"tool_calls": [tool_call_args(0, PARIS[1])]}), finish(s)]
    yield fixture(r, "id-changed", frame(ch), "A later fragment carries a different `id` for the same call index.",
                  req=tool_request())


def arguments_json() -> Iterator[Fixture]:
    r = "tools.arguments-json"
    yield fixture(r, "truncated", frame(weather_call("gen-v-args-01", fragments=['{"location": ', '"Paris, Fra'])),
                  "The concatenated arguments stop mid-string: `{\"location\": \"Paris, Fra`.", req=tool_request())
    s = Stream("gen-v-args-02")
    now = tool("get_server_time", {"type": "object", "properties": {}}, "Server time, no arguments")
    ch = [s.role(None), s.delta({"tool_calls": [tool_call_head(0, "call_now_0001", "get_server_time")]}), finish(s)]
    yield fixture(r, "empty-string", frame(ch, style="spaced"),
                  "A call without arguments sends `arguments: \"\"` and never `{}`.", req=tool_request(now))
    twice = PARIS + ['{"location": "Paris, France"}']
    yield fixture(r, "sent-twice", frame(weather_call("gen-v-args-03", fragments=twice)),
                  "After streaming the arguments in fragments the server sends the whole object again, so "
                  "the concatenation is two objects back to back.", req=tool_request())


def finish_reason() -> Iterator[Fixture]:
    r = "tools.finish-reason"
    yield fixture(r, "stop-after-call", frame(weather_call("gen-v-tfr-01", reason="stop")),
                  "The choice streamed a tool call but finishes with `stop` (Gemini style).", req=tool_request())
    s = Stream("gen-v-tfr-02")
    yield fixture(r, "tool-calls-without-call",
                  frame([s.role(), s.text("It is sunny"), s.text(" in Paris."), finish(s)], style="spaced"),
                  "The choice streamed only text but finishes with `tool_calls`.", req=tool_request())


def declared() -> Iterator[Fixture]:
    r = "tools.declared"
    head = tool_call_head(0, "call_tm_0001", "get_time")
    tz = ['{"timezone": ', '"Europe/Paris"}']
    yield fixture(r, "undeclared-name", frame(weather_call("gen-v-decl-01", head, tz)),
                  "The call names `get_time`, but the request declared only `get_weather`.", req=tool_request())
    yield fixture(r, "no-tools-in-request", frame(weather_call("gen-v-decl-02"), style="spaced"),
                  "The model calls `get_weather` although the request declared no tools at all.",
                  req=request(messages=[{"role": "user", "content": "What's the weather in Paris?"}]))


def arguments_schema() -> Iterator[Fixture]:
    r = "tools.arguments-schema"
    yield warning(r, "missing-required", frame(weather_call("gen-v-aschema-01", fragments=['{"unit": ', '"celsius"}'])),
                  "The arguments leave out the required `location`.", req=tool_request())
    yield warning(r, "wrong-enum", frame(weather_call("gen-v-aschema-02",
                                                      fragments=['{"location": "Paris", ', '"unit": "kelvin"}']),
                                         style="spaced"),
                  "`unit` is `kelvin`, outside the declared enum.", req=tool_request())
