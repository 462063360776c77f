"""Rule edge cases, one test per spec sentence that a rule once got wrong (found in review)."""

from __future__ import annotations

from typing import Any

from conformance import Exchange, judge
from conformance.findings import FAIL, NA, PASS, WARN

from .conftest import USAGE, chunk, stream_body

ERR = {"error": {"code": "provider_error", "message": "x"}, "choices": [{"finish_reason": "error"}]}


def status(body: bytes, rule: str, profile: str = "sansa", **kw: Any) -> str:
    result = judge(Exchange(body, **kw), profile).result(rule)
    assert result is not None
    return result.status


def call(index: Any = 0, **fields: Any) -> dict[str, Any]:
    return {"index": index, **fields}


def tool_stream(*entries: dict[str, Any], finish: str = "tool_calls") -> bytes:
    chunks = [chunk({"role": "assistant", "tool_calls": [entries[0]]})]
    chunks += [chunk({"tool_calls": [e]}) for e in entries[1:]]
    chunks.append(chunk({}, finish, usage=USAGE))
    return stream_body(*chunks)


FIRST = call(0, id="call_1", type="function", function={"name": "f", "arguments": ""})


def test_empty_type_in_a_later_fragment_is_no_change() -> None:
    body = tool_stream(FIRST, call(0, type="", id=None, function={"arguments": "{}"}))
    assert status(body, "tools.first-fragment") == PASS


def test_an_empty_id_is_carried() -> None:
    body = tool_stream({**FIRST, "id": ""}, call(0, function={"arguments": "{}"}))
    assert status(body, "tools.first-fragment") == PASS
    body = tool_stream({k: v for k, v in FIRST.items() if k != "id"}, call(0, function={"arguments": "{}"}))
    assert status(body, "tools.first-fragment") == FAIL


def test_an_integral_float_index_is_an_index() -> None:
    assert status(tool_stream({**FIRST, "index": 0.0, "function": {"name": "f", "arguments": "nope"}}), "tools.arguments-json") == FAIL
    body = tool_stream({**FIRST, "function": {"name": "f", "arguments": '{"a"'}}, call(0.0, function={"arguments": ": 1}"}))
    assert status(body, "tools.arguments-json") == PASS


def test_a_tool_call_entry_that_is_not_an_object_is_judged() -> None:
    body = stream_body(chunk({"role": "assistant", "tool_calls": [None]}), chunk({}, "stop", usage=USAGE))
    assert status(body, "tools.index") == FAIL
    assert status(body, "tools.finish-reason") == FAIL  # it streamed a tool-call entry, then finished with stop


def test_usage_rules_skip_streams_cut_by_an_error() -> None:
    body = stream_body(chunk({"role": "assistant", "content": "a"}, usage={**USAGE, "total_tokens": 99}), chunk({"content": "b"}), ERR)
    for rule in ("usage.present-last", "usage.only-last", "usage.totals"):
        assert status(body, rule) == NA


def test_error_entry_with_a_float_index_finishes_that_choice() -> None:
    err = {"error": {"code": "p", "message": "x"}, "choices": [{"index": 1.0, "finish_reason": "error"}]}
    body = stream_body(
        chunk({"role": "assistant", "content": "a"}, index=0),
        chunk({"role": "assistant", "content": "b"}, index=1),
        chunk({}, "stop", index=0),
        err,
    )
    assert status(body, "chunk.finish-reason-once") == PASS


def test_json_that_orjson_refuses_is_still_json() -> None:
    body = stream_body(
        chunk({"role": "assistant", "content": ""}),
        '{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": "sansa-auto", "choices": [{"index": 0, "delta": {"content": "\\ud83d"}, "finish_reason": null}], "x": 1e400}',
        chunk({}, "stop", usage=USAGE),
    )
    assert judge(Exchange(body)).ok


def test_structured_rules_and_error_cut_choices() -> None:
    request = {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}}
    body = stream_body(chunk({"role": "assistant", "content": "Sure! ```json"}), ERR)
    assert status(body, "structured.partial-json", request=request) == WARN  # prose is never a JSON prefix
    assert status(body, "structured.valid-json", request=request) == PASS  # the error rules judge the cut


def test_pathological_schemas_in_the_request_are_not_judged() -> None:
    request = {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"a": {"pattern": "a{99999999999}"}}}}}]}
    body = tool_stream({**FIRST, "function": {"name": "f", "arguments": '{"a": "x"}'}})
    verdict = judge(Exchange(body, request=request))
    assert verdict.ok and verdict.result("tools.arguments-schema").status == PASS  # type: ignore[union-attr]


def test_reasoning_item_of_unknown_type_passes_whatever_its_fields() -> None:
    body = stream_body(
        chunk({"role": "assistant", "reasoning_details": [{"type": "vendor.trace", "id": 7, "index": "a", "signature": {"k": 1}}]}),
        chunk({"content": "hi"}),
        chunk({}, "stop", usage=USAGE),
    )
    assert status(body, "reasoning.schema") == PASS
    bad = body.replace(b'"vendor.trace"', b'"reasoning.text"')
    assert status(bad, "reasoning.schema") == FAIL


def test_openai_error_that_ends_the_stream_makes_done_rules_not_applicable() -> None:
    body = stream_body(chunk({"role": "assistant", "content": "a"}), done=False)
    body += b'event: error\ndata: {"error": {"message": "boom", "type": "server_error", "param": null, "code": null}}\n\n'
    assert status(body, "sse.done", "openai") == NA
    assert status(body, "error.done-after", "openai") == NA
    assert status(body, "error.done-after", "sansa") == FAIL


def test_tools_finish_reason_points_at_the_finishing_chunk() -> None:
    body = stream_body(chunk({"role": "assistant", "tool_calls": [FIRST]}), chunk({}, "stop"), chunk({}, usage=USAGE))
    result = judge(Exchange(body)).result("tools.finish-reason")
    assert result is not None and result.status == FAIL and result.findings[0].event == 1


def test_usage_only_last_names_events_not_chunk_positions() -> None:
    body = stream_body("oops", chunk({"role": "assistant", "content": "a"}, usage=USAGE), chunk({}, "stop", usage=USAGE))
    result = judge(Exchange(body)).result("usage.only-last")
    assert result is not None and result.findings[0].message.startswith("Event #1 carries usage")
