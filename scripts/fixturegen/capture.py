"""What a live run captured or provoked: capture.complete, run.endpoint-usable, request.*
(the endpoint's answer to what the suite asked) and scenario.exercised.

Most of these were first written by hand as live captures; they keep that sidecar layout
(CAPTURE_LAYOUT: the request first, `why` and `expect` last) so that no byte changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from .corpus import CAPTURE_LAYOUT, JSON_HEADERS, Fixture, fixture, warning
from .request import TIME_TOOL, WEATHER_TOOL, live_request, request
from .streams import Stream, enc, frame, tool_call_head, usage

STREAM_OPTIONS = {"include_usage": True}


def fixtures() -> Iterator[Fixture]:
    yield from capture_complete()
    yield run_endpoint_usable()
    yield from stream_options_accepted()
    yield variant_accepted()
    yield from scenario_exercised()


def capture_complete() -> Iterator[Fixture]:
    r = "capture.complete"
    s = Stream("c1", created=1700000000)
    yield fixture(r, "connection-reset", frame([s.role(), s.text("Hel")], done=False), "a live capture the "
                  "transport cut short: the suite must report the cut itself, not only its consequences",
                  fail=[r, "sse.done", "chunk.finish-reason-once", "usage.present-last"],
                  problem="the connection was reset by the peer after 2 events (httpx.RemoteProtocolError: peer "
                          "closed connection without sending complete message body)",
                  layout=replace(CAPTURE_LAYOUT, final_newline=False))  # written by hand without one
    yield fixture(r, "redirect", b"", "the endpoint redirected (302) and the suite follows no redirect: the capture "
                  "names the Location to point --endpoint at", fail=[r], status=302,
                  headers={"location": "https://api.example.com/v1/chat/completions", "content-length": "0"},
                  req=live_request("Count slowly from one to two hundred, in words.", max_tokens=5),
                  scenario="length", layout=CAPTURE_LAYOUT)


def run_endpoint_usable() -> Fixture:
    r = "run.endpoint-usable"
    body = enc({"error": {"code": "invalid_api_key", "message": "Incorrect API key provided: sk-...9f2a. You can "
                                                                "find your API key in your dashboard."}}).encode()
    return fixture(r, "plain-request-401", body, "the plain text request, which every other scenario builds on, was "
                   "refused for a wrong key: one failure naming the key's variable", fail=[r], status=401,
                   headers=JSON_HEADERS, req=live_request("Say hello in one short sentence."), scenario="text",
                   api_key_env="MY_GATEWAY_KEY", layout=CAPTURE_LAYOUT)


def stream_options_accepted() -> Iterator[Fixture]:
    r = "request.stream-options-accepted"
    so_req = request(stream_options=STREAM_OPTIONS)
    body = enc({"error": {"code": "invalid_request", "message": "Unrecognized request argument supplied: "
                                                                "stream_options"}}).encode()
    yield fixture(r, "rejected-400", body, "Adding `stream_options` to a request that otherwise streams turned the "
                  "answer into a 400 error.", status=400, headers=JSON_HEADERS, req=so_req, scenario="stream-options")
    body = enc({"error": {"code": "validation_error", "message": "stream_options: extra fields not permitted"}},
               "spaced").encode()
    yield fixture(r, "rejected-422", body, "The server validates strictly and answers a request carrying "
                  "`stream_options` with 422.", status=422, headers=JSON_HEADERS, req=so_req,
                  scenario="stream-options")


def variant_accepted() -> Fixture:
    r = "request.variant-accepted"
    body = enc({"error": {"code": "internal_error", "message": "'ascii' codec can't encode character '\\u05e9'"}},
               "spaced").encode()
    return fixture(r, "unicode-refused", body, "a generated variant with a Hebrew prompt, valid against "
                   "request.json, was answered 500: the endpoint cannot handle non-ASCII text", fail=[r],
                   status=500, headers=JSON_HEADERS, req=live_request("שלום"), scenario="variant",
                   layout=CAPTURE_LAYOUT)


def scenario_exercised() -> Iterator[Fixture]:
    r = "scenario.exercised"
    s = Stream("gen-v-exercised-parallel-01")
    ch = [s.role(None), *s.tool_call(tool_call_head(0, "call_wx_tokyo", "get_weather"), ['{"location": "Tok',
                                                                                         'yo, Japan"}']),
          s.finish("tool_calls", usage(40, 12))]
    parallel = request(messages=[{"role": "user", "content": "Call get_weather and get_local_time for Tokyo, "
                                  "in parallel, using the tools."}],
                       tools=[WEATHER_TOOL, TIME_TOOL], tool_choice="required", parallel_tool_calls=True)
    yield warning(r, "parallel-tools-one-call", frame(ch), "The parallel-tools scenario asked for parallel calls; "
                  "the answer has one tool call, so interleaving by index was not exercised.",
                  req=parallel, scenario="parallel-tools")

    s = Stream("gen-ignored-tools")
    ch = [s.role(), s.text("I cannot check the weather."), s.finish("stop", usage(30, 6))]
    city = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    forced = live_request("What is the weather in Paris? Use the get_weather tool.",
                          tools=[{"type": "function", "function": {"name": "get_weather", "parameters": city}}],
                          tool_choice={"type": "function", "function": {"name": "get_weather"}})
    yield fixture(r, "tools-ignored", frame(ch, style="spaced"), "the tool-call scenario forced a tool call; the "
                  "endpoint answered in plain text, so no tool rule had anything to judge", warn=[r], req=forced,
                  scenario="tool-call", layout=CAPTURE_LAYOUT)
