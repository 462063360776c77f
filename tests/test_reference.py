"""The reference endpoint over a real socket, judged by the suite's own checker.

The endpoint never imports the checker; these tests may, and do: every conformant scenario
must pass every rule, every fault must break exactly the rules it declares, and every legal
framing must break none. A disagreement means a bug on one side or the other.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import time
from typing import Any

import httpx
import jsonschema
import pytest

from conformance import Exchange, Timing, all_rules, judge
from conformance.live.config import load_settings
from conformance.live.runner import capture_request
from conformance.reference import FAULTS, Fault, create_app, serve_in_thread
from conformance.reference.faults import ALL_KINDS, ERROR_KINDS

from .conftest import ROOT

KEY = "sk-reference"
AUTH = {"Authorization": f"Bearer {KEY}"}
PROFILES = ("sansa", "openai")

TRIP = {
    "type": "object",
    "properties": {
        "destination": {
            "type": "object",
            "properties": {"city": {"type": "string", "minLength": 12}, "country": {"enum": ["FR", "JP", "US"]}},
            "required": ["city", "country"],
            "additionalProperties": False,
        },
        "travellers": {
            "type": "array",
            "minItems": 3,
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "maxLength": 5},
                    "age": {"type": "integer", "minimum": 18, "maximum": 120},
                    "seat": {"enum": ["aisle", "window", None]},
                },
                "required": ["name", "age"],
                "additionalProperties": False,
            },
        },
        "nights": {"type": "integer", "exclusiveMinimum": 0, "maximum": 30},
        "budget": {"type": ["number", "null"], "minimum": 100, "multipleOf": 0.5},
        "tags": {"type": "array", "items": {"enum": ["food", "museums", "hiking"]}, "uniqueItems": True, "maxItems": 3},
        "kind": {"const": "trip"},
        "dates": {"$ref": "#/$defs/range"},
    },
    "required": ["destination", "travellers", "nights", "dates"],
    "additionalProperties": False,
    "$defs": {
        "range": {
            "type": "object",
            "properties": {"start": {"type": "string", "format": "date"}, "end": {"type": "string", "format": "date"}},
            "required": ["start", "end"],
        }
    },
}
CLOCK = {
    "type": "object",
    "properties": {"timezone": {"enum": ["Europe/Paris", "Asia/Tokyo"]}, "24h": {"type": "boolean"}},
    "required": ["timezone"],
    "additionalProperties": False,
}
CITY = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "population": {"type": "integer", "minimum": 0},
        "districts": {
            "type": "array",
            "minItems": 2,
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "kind": {"enum": ["residential", "business", "historic"]},
                    "landmarks": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                },
                "required": ["name", "kind", "landmarks"],
                "additionalProperties": False,
            },
        },
        "climate": {"anyOf": [{"enum": ["temperate", "arid"]}, {"type": "null"}]},
    },
    "required": ["name", "population", "districts", "climate"],
    "additionalProperties": False,
}


def tool(name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": f"{name} tool", "parameters": parameters}}


def ask(text: str = "Say hello in a few words.", **extra: Any) -> dict[str, Any]:
    return {"model": "sansa-reference", "messages": [{"role": "user", "content": text}], "stream": True, **extra}


SCENARIOS: dict[str, dict[str, Any]] = {
    "text": ask(),
    "length": ask("Tell me the history of Paris.", max_tokens=5),
    "tools": ask("Use plan_trip for Paris.", tools=[tool("plan_trip", TRIP)], tool_choice="auto"),
    "parallel-tools": ask("Plan a trip, and the time there?", tools=[tool("plan_trip", TRIP), tool("clock", CLOCK)], tool_choice="required"),
    "reasoning": ask("Is 97 a prime number?", reasoning={"effort": "low"}),
    "structured": ask(
        "Describe Paris as JSON.",
        response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": CITY, "strict": True}},
    ),
    "stream-options": ask(stream_options={"include_usage": True}),
}


# One client for the module: building an httpx.Client costs ~20 ms (its SSL context), more
# than most captures. A connection a fault broke is dropped from the pool, not reused.
CLIENT = httpx.Client(timeout=10)


@pytest.fixture(scope="module", autouse=True)
def _close_client() -> Any:
    yield
    CLIENT.close()


@pytest.fixture(scope="module")
def urls() -> Any:
    with serve_in_thread(create_app("sansa", delay=0.0005)) as sansa, serve_in_thread(create_app("openai", delay=0.0005)) as openai:
        yield {"sansa": sansa, "openai": openai}


def capture(
    base: str, request: Any, fault: str | None = None, headers: dict[str, str] | None = None, scenario: str | None = None,
    client: httpx.Client | None = None,
) -> Exchange:
    """POST and read the body as it arrives, stamping arrival times like a live run does
    (and, given ``scenario``, naming the exchange as the live run names it). Another test
    module passes its own ``client``: this module's is closed when its tests are done."""
    sent = {**AUTH, **(headers or {})}
    if fault is not None:
        sent["X-Conformance-Fault"] = fault
    body, arrivals, problem = bytearray(), [], None
    start = time.monotonic()
    with (client or CLIENT).stream("POST", f"{base}/chat/completions", json=request, headers=sent) as resp:
        headers_at = time.monotonic() - start
        try:
            for piece in resp.iter_raw():
                arrivals.append((len(body), time.monotonic() - start))
                body += piece
        except httpx.TransportError as exc:  # a dropped connection: judge what arrived
            problem = f"The transfer broke off after {len(body)} bytes ({type(exc).__name__}: {exc})."
    return Exchange(
        body=bytes(body),
        request=request,
        status=resp.status_code,
        headers={k.lower(): v for k, v in resp.headers.items()},
        timing=Timing(tuple(arrivals), headers_at),
        problem=problem,
        scenario=scenario,
    )


def flagged(exchange: Exchange, profile: str = "sansa") -> set[str]:
    """Rule ids that fail or warn."""
    return {r.rule for r in judge(exchange, profile).results if r.status in ("fail", "warn")}


def payloads(body: bytes) -> list[Any]:
    """The JSON payloads of a default-framed body (LF, one data line per event)."""
    blocks = body.split(b"\n\n")
    assert blocks[-2:] == [b"data: [DONE]", b""]
    return [json.loads(b[len(b"data: ") :]) for b in blocks[:-2]]


def deltas(body: bytes, index: int = 0) -> list[dict[str, Any]]:
    return [c["delta"] for p in payloads(body) for c in p["choices"] if c["index"] == index]


def assembled_calls(body: bytes) -> dict[int, dict[str, Any]]:
    calls: dict[int, dict[str, Any]] = {}
    for delta in deltas(body):
        for entry in delta.get("tool_calls") or []:
            call = calls.setdefault(entry["index"], {"name": None, "arguments": ""})
            call["name"] = call["name"] or entry.get("function", {}).get("name")
            call["arguments"] += entry["function"].get("arguments", "")
    return calls


# ---- pre-stream errors and plain answers ---------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    ("auth", "status", "code", "scenario"),
    [(None, 401, "invalid_api_key", "bad-key"), ("Bearer sk-wrong", 401, "invalid_api_key", "bad-key"),
     ("Bearer sk-no-credits", 402, "insufficient_credits", "no-credits")],
)
def test_auth_errors(urls: Any, profile: str, auth: str | None, status: int, code: str, scenario: str) -> None:
    headers = {"Authorization": auth} if auth else {}
    resp = CLIENT.post(f"{urls[profile]}/chat/completions", json=SCENARIOS["text"], headers=headers)
    assert (resp.status_code, resp.headers["content-type"]) == (status, "application/json")
    error = resp.json()["error"]
    assert error["code"] == code and isinstance(error["message"], str)
    if profile == "openai":
        assert set(error) == {"message", "type", "param", "code"}
    ex = Exchange(resp.content, SCENARIOS["text"], status, dict(resp.headers), scenario=scenario)
    assert flagged(ex, profile) == set()  # error.pre-stream-shape and -status both pass


BAD_REQUESTS = {
    "not-json": b"{nope",
    "not-object": b"[1, 2]",
    "no-messages": {"model": "m"},
    "empty-messages": {"model": "m", "messages": []},
    "messages-not-list": {"model": "m", "messages": {"role": "user"}},
    "bad-role": {"model": "m", "messages": [{"role": "robot", "content": "hi"}]},
    "no-role": {"model": "m", "messages": [{"content": "hi"}]},
    "temperature": {**ask(), "temperature": 2.5},
    "temperature-type": {**ask(), "temperature": "hot"},
    "max-tokens-zero": {**ask(), "max_tokens": 0},
    "max-tokens-float": {**ask(), "max_tokens": 2.5},
    "tools-not-list": {**ask(), "tools": {"type": "function"}},
    "tool-no-name": {**ask(), "tools": [{"type": "function", "function": {"description": "x"}}]},
    "tool-bad-type": {**ask(), "tools": [{"type": "retrieval", "function": {"name": "x"}}]},
    "n-too-big": {**ask(), "n": 5},
    "n-zero": {**ask(), "n": 0},
    "no-model": {"messages": [{"role": "user", "content": "hi"}]},
    "unknown-named-tool": {**ask(), "tools": [tool("a", {})], "tool_choice": {"type": "function", "function": {"name": "b"}}},
    "x-length": {**ask(), "x_length": 100_001},
}


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_invalid_parameters_are_400(urls: Any, profile: str, case: str) -> None:
    body = BAD_REQUESTS[case]
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    resp = CLIENT.post(f"{urls[profile]}/chat/completions", content=content, headers=AUTH)
    assert resp.status_code == 400, resp.text
    ex = Exchange(resp.content, None, 400, dict(resp.headers), scenario="invalid-params")
    assert flagged(ex, profile) == set()


def test_other_routes(urls: Any) -> None:
    base = urls["sansa"]
    missing = CLIENT.get(f"{base}/chat/completions", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert CLIENT.post(f"{base}/completions", json={}, headers=AUTH).status_code == 404
    assert [m["id"] for m in CLIENT.get(f"{base}/models").json()["data"]] == ["sansa-reference"]


@pytest.mark.parametrize("profile", PROFILES)
def test_stream_false_is_one_completion(urls: Any, profile: str) -> None:
    for kind in ("text", "tools", "reasoning"):
        resp = CLIENT.post(f"{urls[profile]}/chat/completions", json={**SCENARIOS[kind], "stream": False}, headers=AUTH)
        assert resp.headers["content-type"] == "application/json"
        obj = resp.json()
        assert obj["object"] == "chat.completion" and {"id", "created", "model", "choices", "usage"} <= set(obj)
        (choice,) = obj["choices"]
        message = choice["message"]
        assert message["role"] == "assistant" and choice["index"] == 0
        usage = obj["usage"]
        assert usage["prompt_tokens"] + usage["completion_tokens"] == usage["total_tokens"]
        if kind == "tools":
            assert choice["finish_reason"] == "tool_calls" and message["content"] is None
            jsonschema.validate(json.loads(message["tool_calls"][0]["function"]["arguments"]), TRIP)
        else:
            assert choice["finish_reason"] == "stop" and message["content"]
        assert ("reasoning" in message) == (kind == "reasoning" and profile == "sansa")


# ---- the conformant stream, byte by byte --------------------------------------------------


def test_text_stream_framing(urls: Any) -> None:
    ex = capture(urls["sansa"], SCENARIOS["text"])
    assert ex.headers is not None
    assert ex.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert ex.headers["cache-control"] == "no-cache"
    body = ex.body
    assert body.startswith(b'data: {"id":"gen-ref-') and body.endswith(b"\n\ndata: [DONE]\n\n")
    assert b"\r" not in body and b"\n\n\n" not in body
    chunks = payloads(body)
    assert {(c["id"], c["created"], c["model"], c["object"]) for c in chunks} == {
        (chunks[0]["id"], chunks[0]["created"], "sansa-reference", "chat.completion.chunk")
    }
    assert chunks[0]["choices"] == [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
    words = [c["choices"][0]["delta"]["content"] for c in chunks[1:-1]]
    assert len(words) == 24 and all(c["choices"][0]["finish_reason"] is None and "usage" not in c for c in chunks[:-1])
    assert all(w.startswith(" ") and w.strip() for w in words[1:])
    assert chunks[-1]["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    assert chunks[-1]["usage"] == {"prompt_tokens": 6, "completion_tokens": 24, "total_tokens": 30}


def test_answers_are_deterministic_across_processes(urls: Any) -> None:
    first, again = (deltas(capture(urls["sansa"], SCENARIOS["text"]).body) for _ in range(2))
    assert first == again
    code = (
        "from conformance.reference.events import plan_answer; import json, sys;"
        "print(json.dumps(plan_answer(json.loads(sys.argv[1]), 'sansa').choices[0].content))"
    )
    out = subprocess.run([sys.executable, "-c", code, json.dumps(SCENARIOS["text"])], capture_output=True, text=True, check=True, cwd=ROOT)
    assert "".join(json.loads(out.stdout)) == "".join(d.get("content") or "" for d in first)


def test_tool_arguments_are_valid_against_a_nested_schema(urls: Any) -> None:
    body = capture(urls["sansa"], SCENARIOS["tools"]).body
    (call,) = assembled_calls(body).values()
    assert call["name"] == "plan_trip"
    args = json.loads(call["arguments"])
    jsonschema.validate(args, TRIP)
    assert len(args["travellers"]) >= 3 and len(args["destination"]["city"]) >= 12
    first = deltas(body)[1]["tool_calls"][0]
    assert first["id"].startswith("call_") and first["type"] == "function" and first["function"]["arguments"] == ""
    pieces = [e["function"]["arguments"] for d in deltas(body)[2:] for e in d.get("tool_calls") or []]
    assert all(4 <= len(p) <= 7 for p in pieces[:-1]) and 1 <= len(pieces[-1]) <= 7
    assert payloads(body)[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_parallel_calls_interleave(urls: Any) -> None:
    body = capture(urls["sansa"], SCENARIOS["parallel-tools"]).body
    order = [e["index"] for d in deltas(body) for e in d.get("tool_calls") or []]
    assert order[:6] == [0, 1, 0, 1, 0, 1]
    calls = assembled_calls(body)
    assert [c["name"] for c in calls.values()] == ["plan_trip", "clock"]
    jsonschema.validate(json.loads(calls[0]["arguments"]), TRIP)
    jsonschema.validate(json.loads(calls[1]["arguments"]), CLOCK)


def test_no_tool_call_unless_asked(urls: Any) -> None:
    request = {**SCENARIOS["tools"], "messages": [{"role": "user", "content": "Hello there"}]}
    assert not assembled_calls(capture(urls["sansa"], request).body)
    named = {**request, "tools": [tool("plan_trip", TRIP), tool("clock", CLOCK)], "tool_choice": {"type": "function", "function": {"name": "clock"}}}
    assert [c["name"] for c in assembled_calls(capture(urls["sansa"], named).body).values()] == ["clock"]
    serial = {**SCENARIOS["parallel-tools"], "parallel_tool_calls": False}
    assert len(assembled_calls(capture(urls["sansa"], serial).body)) == 1


def test_structured_output_is_valid_against_a_nested_schema(urls: Any) -> None:
    body = capture(urls["sansa"], SCENARIOS["structured"]).body
    pieces = [d["content"] for d in deltas(body)[1:] if d.get("content")]
    assert all(3 <= len(p) <= 9 for p in pieces[:-1])
    value = json.loads("".join(pieces))
    jsonschema.validate(value, CITY)
    assert len(value["districts"]) >= 2
    plain = capture(urls["sansa"], ask(response_format={"type": "json_object"})).body
    assert set(json.loads("".join(d.get("content") or "" for d in deltas(plain)))) == {"answer"}


def test_max_tokens_cuts_with_length_and_x_length_sets_the_length(urls: Any) -> None:
    chunks = payloads(capture(urls["sansa"], SCENARIOS["length"]).body)
    assert len(chunks) == 1 + 5 + 1 and chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["usage"]["completion_tokens"] == 5
    long = payloads(capture(urls["sansa"], ask(x_length=300)).body)
    assert len(long) == 1 + 300 + 1 and long[-1]["usage"]["completion_tokens"] == 300


def test_reasoning_streams_first_and_counts_inside_completion(urls: Any) -> None:
    ds = deltas(capture(urls["sansa"], SCENARIOS["reasoning"]).body)
    thinking = [d for d in ds if "reasoning_details" in d]
    assert 3 <= len(thinking) <= 5 and ds[1 : 1 + len(thinking)] == thinking
    assert all(d["reasoning"] == d["reasoning_details"][0]["text"] for d in thinking)
    usage = payloads(capture(urls["sansa"], SCENARIOS["reasoning"]).body)[-1]["usage"]
    assert usage["completion_tokens_details"]["reasoning_tokens"] < usage["completion_tokens"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


@pytest.mark.parametrize("profile", PROFILES)
def test_n_choices_each_get_role_and_finish(urls: Any, profile: str) -> None:
    ex = capture(urls[profile], ask(n=3, stream_options={"include_usage": True}))
    assert flagged(ex, profile) == set()
    for i in range(3):
        ds = deltas(ex.body, i)
        assert ds[0]["role"] == "assistant" and all("role" not in d for d in ds[1:])
    last = payloads(ex.body)[-1]
    assert last["usage"]["total_tokens"] > 0 and (last["choices"] == [] if profile == "openai" else len(last["choices"]) == 1)


def test_openai_profile_usage_chunk(urls: Any) -> None:
    chunks = payloads(capture(urls["openai"], SCENARIOS["stream-options"]).body)
    assert all(c["usage"] is None and c["system_fingerprint"] for c in chunks[:-1])
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    plain = payloads(capture(urls["openai"], SCENARIOS["reasoning"]).body)
    assert all(c["usage"] is None and "reasoning_details" not in c["choices"][0]["delta"] for c in plain)


def test_a_prompt_can_ask_for_a_length_in_words(urls: Any) -> None:
    assert len(deltas(capture(urls["sansa"], ask("Write about 40 words on rivers.")).body)) == 1 + 40 + 1
    assert len(deltas(capture(urls["sansa"], ask("Write about 0 words.")).body)) == 1 + 24 + 1  # the default
    assert len(deltas(capture(urls["sansa"], ask("Write 9999 words.", max_tokens=3)).body)) == 1 + 3 + 1


def test_the_live_text_scenario_is_long_enough_to_judge_delivery() -> None:
    """At the endpoint's default 2 ms per event, the live `text` scenario's answer has enough
    events for sse.incremental to judge (not n/a), and it passes; held back and written at
    once (the buffered fault) it warns."""
    from conformance.live.config import load_settings
    from conformance.live.scenarios import SCENARIOS as LIVE

    settings = load_settings({"endpoint": "http://127.0.0.1:9/v1"}, env={})
    request = LIVE["text"].request(settings)
    with serve_in_thread(create_app()) as base:
        ex = capture(base, request)
        res = judge(ex).result("sse.incremental")
        assert res is not None and res.status == "pass", res.reason
        assert ex.timing is not None and ex.timing.arrivals[-1][1] < 1.0  # still fast
        buffered = judge(capture(base, request, fault="buffered")).result("sse.incremental")
        assert buffered is not None and buffered.status == "warn"


def test_byte_per_write_arrives_in_many_reads(urls: Any) -> None:
    ex = capture(urls["sansa"], SCENARIOS["text"], fault="byte-per-write")
    assert ex.timing is not None
    assert len(ex.timing.arrivals) > 100, f"only {len(ex.timing.arrivals)} reads"
    assert deltas(ex.body) == deltas(capture(urls["sansa"], SCENARIOS["text"]).body)


# ---- the checker judges the endpoint -------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_conformant_scenarios_pass_every_rule(urls: Any, profile: str, kind: str) -> None:
    ex = capture(urls[profile], SCENARIOS[kind])
    verdict = judge(ex, profile)
    assert verdict.ok and flagged(ex, profile) == set(), [r for r in verdict.results if r.status in ("fail", "warn")]


BROKEN = [(name, kind) for name, f in FAULTS.items() if not f.legal for kind in f.kinds]
LEGAL = [(name, kind) for name, f in FAULTS.items() if f.legal for kind in f.kinds]

# How a live run asks for each answer kind, and what it names the exchange: the scenario
# (the kind `tools` is the live scenario `tool-call`), or `variant` for a generated request.
LIVE_NAME = {"tools": "tool-call"}
ERROR_REQUESTS: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    "bad-key": (ask(), {"Authorization": "Bearer sk-wrong"}),
    "no-credits": (ask(), {"Authorization": "Bearer sk-no-credits"}),
    "invalid-params": ({**ask(), "temperature": 9}, {}),
}


# The rules judged only on an exchange a live run names (its scenario, or a variant). A fault
# that declares one is judged under that name; the others as a recording is (no name), since
# under the name a fault that spoils the scenario's feature (the length kind's finish) also
# spoils scenario.exercised, a consequence for the run, not the fault's own rule.
NAMED = {"scenario.exercised", "request.stream-options-accepted", "request.variant-accepted", "run.endpoint-usable", "error.pre-stream-status"}


def live_capture(base: str, kind: str, fault: str | None = None, variant: bool = False, profile: str = "sansa", named: bool = True) -> set[str]:
    """The rules that fail or warn on the live run's request for ``kind`` (or a generated
    variant of it), captured by the live client's own capture (``live.runner.capture_request``:
    its headers, its bounded reads, its arrival times) and judged as that run judges it: under
    its scenario name (``named``). So the tests that use it prove both that the endpoint
    faults what it declares and that a live run sees exactly that."""
    request, headers = ERROR_REQUESTS.get(kind, (SCENARIOS.get(kind), {}))
    scenario = ("variant" if variant else LIVE_NAME.get(kind, kind)) if named else None
    if variant:  # what generated variants find and fixed scenarios do not: a non-ASCII prompt
        request = {**request, "messages": [{**m, "content": m["content"] + " é"} for m in request["messages"]]}
    sent = {"X-Conformance-Fault": fault} if fault is not None else {}
    settings = load_settings({"endpoint": base, "profile": profile, "api_key_env": "K", "headers": sent}, env={"K": KEY})
    key = headers.get("Authorization", "").removeprefix("Bearer ") or None
    return flagged(capture_request(CLIENT, settings, request, key=key, tag=scenario, source=f"live/{scenario or kind}"), profile)


def _named(name: str) -> bool:
    return bool(NAMED & set(FAULTS[name].rules))


@pytest.mark.parametrize(("name", "kind"), BROKEN)
def test_fault_breaks_exactly_its_rules(urls: Any, name: str, kind: str) -> None:
    named = _named(name)
    if FAULTS[name].conditional:  # silent on the fixed scenario, acts on a generated variant
        assert live_capture(urls["sansa"], kind, fault=name, named=named) == set()
        assert live_capture(urls["sansa"], kind, fault=name, variant=True, named=named) == set(FAULTS[name].rules)
        return
    assert live_capture(urls["sansa"], kind, fault=name, named=named) == set(FAULTS[name].rules)


def test_the_named_rules_are_judged_only_under_a_name() -> None:
    """NAMED is what it says: each of those rules is not applicable to an unnamed capture."""
    refused = Exchange(b'{"error": {"code": "x", "message": "no"}}', ask(), 400, {"content-type": "application/json"})
    streamed = Exchange(b'data: {"id": "x"}\n\ndata: [DONE]\n\n', ask(), 200, {"content-type": "text/event-stream"})
    for ex in (refused, streamed):
        judged = {r.rule for r in judge(ex).results if r.status != "n/a"}
        assert judged and not judged & NAMED, judged & NAMED


@pytest.mark.parametrize("kind", [*ALL_KINDS, *ERROR_KINDS])
def test_the_live_requests_break_nothing_without_a_fault(urls: Any, kind: str) -> None:
    """Judged under their live scenario names (where scenario.exercised, run.endpoint-usable and
    error.pre-stream-status apply), the endpoint's answers pass: a fault's rules are its own."""
    assert live_capture(urls["sansa"], kind) == set()
    assert live_capture(urls["sansa"], kind, variant=True) == set() or kind in ERROR_KINDS


@pytest.fixture(scope="module")
def undelayed() -> Any:
    """A sansa endpoint without the pause between events: for comparing bytes, not timing."""
    with serve_in_thread(create_app("sansa", delay=0.0)) as base:
        yield base


def answer(base: str, kind: str, fault: str | None = None) -> tuple[int, str | None, bytes]:
    """Status, content type and body of the live run's request for ``kind``; ``created`` (the
    clock's second, the one part of an answer that depends on when it was asked) set to 0."""
    request, headers = ERROR_REQUESTS.get(kind, (SCENARIOS.get(kind), {}))
    ex = capture(base, request, fault=fault, headers=headers)
    return ex.status or 0, ex.header("content-type"), re.sub(rb'"created":\s*\d+', b'"created":0', ex.body)


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_a_fault_leaves_the_other_kinds_byte_for_byte(undelayed: str, name: str) -> None:
    """A fault acts on its kinds only: every other answer is the unfaulted one, byte for byte
    (and those pass every rule: test_the_live_requests_break_nothing_without_a_fault). With
    test_fault_breaks_exactly_its_rules, a whole run with the fault fails exactly its rules."""
    others = [k for k in (*ALL_KINDS, *ERROR_KINDS) if k not in FAULTS[name].kinds]
    for kind in others:
        assert answer(undelayed, kind, name) == answer(undelayed, kind), kind


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(("name", "kind"), LEGAL)
def test_legal_framing_passes_every_rule(urls: Any, profile: str, name: str, kind: str) -> None:
    # sse.incremental judges this capture's arrival times: on a loaded machine the reader can
    # fall behind and take every event in one read, a burst of the machine's making, not the
    # framing's. Only that verdict alone earns another capture (at most two more).
    for _ in range(3):
        ex = capture(urls[profile], SCENARIOS[kind], fault=name)
        bad = flagged(ex, profile)
        if bad != {"sse.incremental"}:
            break
    assert bad == set(), judge(ex, profile).results


def test_legal_framings_really_frame_differently(urls: Any) -> None:
    base = urls["sansa"]
    text = SCENARIOS["text"]
    assert capture(base, text, fault="crlf").body.count(b"\r\n") > 20
    cr = capture(base, text, fault="cr").body
    assert b"\n" not in cr[:-1] and cr.endswith(b"data: [DONE]\r\r\n")
    assert capture(base, text, fault="comments").body.startswith(b": keep-alive\ndata: {")
    assert capture(base, text, fault="data-no-space").body.startswith(b'data:{"id"')
    multi = capture(base, text, fault="multiline-data").body
    assert multi.startswith(b"data: {\ndata:  \"id\": ")


def test_app_fault_and_header_override() -> None:
    # a small delay: with none, the 27 events leave back to back and arrive as one burst,
    # which sse.incremental rightly cannot tell from a buffered body
    with serve_in_thread(create_app(fault="role-repeated", delay=0.0005)) as base:
        assert flagged(capture(base, SCENARIOS["text"])) == {"chunk.role-only-first"}
        assert flagged(capture(base, SCENARIOS["text"], fault="none")) == set()
        assert flagged(capture(base, SCENARIOS["text"], fault="usage-missing")) == {"usage.present-last"}
        unknown = CLIENT.post(f"{base}/chat/completions", json=SCENARIOS["text"], headers={**AUTH, "X-Conformance-Fault": "nope"})
        assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_fault"
    with pytest.raises(httpx.TransportError):  # stopped: nothing listens any more
        httpx.get(f"{base}/models", timeout=2)


def test_stopping_the_server_aborts_open_streams_promptly() -> None:
    with serve_in_thread(create_app(delay=0.01)) as base:
        request = CLIENT.build_request("POST", f"{base}/chat/completions", json=ask(x_length=100_000), headers=AUTH)
        resp = CLIENT.send(request, stream=True)
        raw = resp.iter_raw()
        next(raw)
        start = time.monotonic()
    assert time.monotonic() - start < 0.9  # not the 1 s graceful-shutdown timeout
    with pytest.raises(httpx.TransportError):
        for _ in raw:
            pass
    resp.close()


def test_create_app_refuses_unknown_names() -> None:
    with pytest.raises(ValueError, match="profile"):
        create_app(profile="azure")
    with pytest.raises(ValueError, match="fault"):
        create_app(fault="role-repated")


TREE = {
    "$defs": {"node": {"type": "object", "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                       "required": ["name", "children"]}},
    "$ref": "#/$defs/node",
}
SCHEMAS = {
    "formats": {"type": "object", "properties": {f: {"type": "string", "format": f} for f in ("date-time", "date", "email", "uri", "uuid", "ipv4")}},
    "bounds": {"type": "object", "properties": {
        "a": {"type": "integer", "exclusiveMinimum": 5, "exclusiveMaximum": 7},
        "b": {"type": "number", "exclusiveMinimum": 0, "maximum": 0.5},
        "c": {"type": "integer", "multipleOf": 7, "minimum": 50},
        "d": {"type": "number", "multipleOf": 0.25, "minimum": -3, "maximum": -2},
        "e": {"type": "integer", "maximum": -1000},
    }, "required": ["a", "b", "c", "d", "e"]},
    "strings": {"type": "object", "properties": {"short": {"type": "string", "maxLength": 2}, "long": {"type": "string", "minLength": 40},
                                                 "empty": {"type": "string", "maxLength": 0, "minLength": 0}}},
    "combinators": {"allOf": [{"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
                              {"properties": {"y": {"const": [1, {"z": None}]}}, "required": ["y"]}],
                    "properties": {"u": {"oneOf": [{"type": "boolean"}, {"type": "string"}]}, "v": {"anyOf": [{"type": "null"}, {"type": "integer"}]}}},
    "arrays": {"type": "object", "properties": {
        "tuple": {"type": "array", "prefixItems": [{"type": "integer"}, {"enum": ["a"]}], "items": False},
        "unique": {"type": "array", "items": {"enum": [1, 2, 3]}, "uniqueItems": True, "minItems": 3},
        "none": {"type": "array", "maxItems": 0},
    }, "required": ["tuple", "unique", "none"]},
    "draft-07-tuple": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "array", "items": [{"type": "string"}, {"type": "boolean"}], "additionalItems": False},
    "min-properties": {"type": "object", "properties": {"extra_1": {"type": "integer"}}, "minProperties": 4, "additionalProperties": {"type": "boolean"}},
    "recursive": TREE,
    "types": {"type": ["null", "object"], "properties": {"t": {"type": ["string", "integer"]}, "n": {"type": "null"}, "any": {}}, "required": ["t", "n", "any"]},
}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_generated_values_are_valid(name: str) -> None:
    from conformance.reference.generate import rng_for
    from conformance.reference.schema_values import from_schema

    cls = jsonschema.validators.validator_for(SCHEMAS[name])
    checker = cls(SCHEMAS[name], format_checker=cls.FORMAT_CHECKER)
    for seed in range(25):
        value = from_schema(SCHEMAS[name], rng_for(name, seed))
        assert not list(checker.iter_errors(value)), (value, [e.message for e in checker.iter_errors(value)])


# ---- the registry and the boundary ---------------------------------------------------------


def test_fault_registry() -> None:
    known = {r.id for r in all_rules()}
    assert all(isinstance(f, Fault) and f.name == name for name, f in FAULTS.items())
    for f in FAULTS.values():
        assert f.description and "\n" not in f.description
        assert f.kinds and set(f.kinds) <= set(ALL_KINDS) | set(ERROR_KINDS)
        assert set(f.rules) <= known, set(f.rules) - known
        assert f.legal == (f.rules == ()), f.name
    assert {n for n, f in FAULTS.items() if f.legal} == {"crlf", "cr", "comments", "data-no-space", "multiline-data", "byte-per-write", "html-content"}


def test_the_revised_spec_rules_each_have_a_fault() -> None:
    """Every rule the 2026-11-29 spec added or made conditional can be shown live; the two
    conditional ones at their error level (fixtures show the warning level)."""
    broken = {r for f in FAULTS.values() for r in f.rules}
    assert {"compat.list-delta-index", "compat.no-choice-message", "compat.usage-last", "compat.no-bom", "compat.no-trailing-cr"} <= broken
    assert "reasoning" in FAULTS["list-delta-index"].kinds


FORBIDDEN = ("conformance.rules", "conformance.judge", "conformance.stream", "conformance.sse")


def test_the_endpoint_never_imports_the_checker() -> None:
    package = ROOT / "conformance" / "reference"
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = "conformance.reference" if node.level == 1 else "conformance" if node.level == 2 else ""
                module = ".".join(p for p in (base, node.module or "") if p)
                names = [module] + [f"{module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            bad = [n for n in names if n.startswith(FORBIDDEN) or n in ("conformance.judge", "conformance")]
            assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize(("name", "kind"), BROKEN)
def test_under_openai_a_fault_breaks_nothing_undeclared(urls: Any, name: str, kind: str) -> None:
    """``Fault.rules`` is the sansa verdict; openai forgives some (usage not asked for, errors
    that end the stream) but must never flag a rule the fault does not declare."""
    variant = FAULTS[name].conditional is not None
    assert live_capture(urls["openai"], kind, fault=name, variant=variant, profile="openai", named=_named(name)) <= set(FAULTS[name].rules)
