"""Rule edge cases, one test per spec sentence that a rule once got wrong (found in review)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from conformance import Exchange, Timing, judge
from conformance.findings import ERROR, FAIL, NA, PASS, WARN, WARNING, Violation
from conformance.rules import Rule
from conformance.rules.fold import End, Fold

from .conftest import USAGE, chunk, stream_body, text_stream

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
        '{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": "sansa-auto", '
        '"choices": [{"index": 0, "delta": {"content": "\\ud83d"}, "finish_reason": null}], "x": 1e400}',
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


# ---- the revised spec (2026-11-29) -------------------------------------------------------

BOM = b"\xef\xbb\xbf"


def result(body: bytes, rule: str, profile: str = "sansa", **kw: Any) -> Any:
    res = judge(Exchange(body, **kw), profile).result(rule)
    assert res is not None
    return res


def test_bom_is_an_error_only_when_the_dropped_event_carries_data() -> None:
    role_only = stream_body(chunk({"role": "assistant", "content": ""}), chunk({"content": "Hi"}), chunk({}, "stop", usage=USAGE))
    res = result(BOM + role_only, "compat.no-bom")
    assert (res.status, res.findings[0].severity) == (WARN, WARNING)
    assert res.findings[0].severity_reason == "warning: the dropped first event carries only the role"
    for first in ({"role": "assistant", "content": "Hel"}, {"role": "assistant", "reasoning": "hm"},
                  {"role": "assistant", "tool_calls": [FIRST]}, {"role": "assistant", "refusal": "no"}):
        body = BOM + stream_body(chunk(first), chunk({}, "stop", usage=USAGE))
        res = result(body, "compat.no-bom")
        assert (res.status, res.severity, res.findings[0].severity) == (FAIL, ERROR, ERROR), first
        assert res.findings[0].severity_reason.startswith("error: the dropped first event carries")
    finish_first = BOM + stream_body(chunk({"role": "assistant"}, "stop"), chunk({}, usage=USAGE))
    assert "finish_reason 'stop'" in result(finish_first, "compat.no-bom").findings[0].severity_reason
    # the BOM spoils a comment line: the first event is intact
    assert result(BOM + b": hi\n\n" + stream_body(chunk({"role": "assistant", "content": "Hel"})), "compat.no-bom").status == WARN
    assert result(role_only, "compat.no-bom").status == PASS


def test_trailing_cr_is_an_error_only_when_the_lost_event_is_not_done() -> None:
    body = stream_body(*text_stream("a"))
    assert result(body[:-1] + b"\r", "compat.no-trailing-cr").status == WARN  # [DONE] is the lost event
    err = {"error": {"message": "boom", "type": "server_error"}}
    cut = stream_body(chunk({"role": "assistant", "content": "a"}), err, done=False)[:-1] + b"\r"
    res = result(cut, "compat.no-trailing-cr", "openai")
    assert res.status == FAIL and "mid-stream error" in res.findings[0].severity_reason
    flagged = {r.rule for r in judge(Exchange(cut), "openai").results if r.status in (FAIL, WARN)}
    assert flagged == {"compat.no-trailing-cr"}  # under openai the error may end the stream
    # a lone CR that ends an unterminated line dispatches nothing: only the framing is odd
    assert result(body + b"data: x\r", "compat.no-trailing-cr").status == WARN
    assert result(body, "compat.no-trailing-cr").status == PASS


def test_a_rule_fails_when_any_finding_is_an_error_even_past_the_cap() -> None:
    class Conditional(Fold):
        def finish(self, end: End) -> Iterator[Violation]:
            for _ in range(25):
                yield Violation("w", severity=WARNING, reason="warning: only this")
            yield Violation("e", severity=ERROR, reason="error: this one")

    rule = Rule("x.conditional", ERROR, "11", "T.", "Why it matters to clients.", Conditional, severity_note="error when ...; warning when ...")
    res = judge(Exchange(stream_body(*text_stream("a"))), "sansa", [rule]).results[0]
    assert (res.status, res.severity, res.total, len(res.findings)) == (FAIL, ERROR, 26, 20)
    assert {f.severity for f in res.findings} == {WARNING}

    # a rule without a declared conditional severity may not change it: the suite says so
    class Plain(Fold):
        def finish(self, end: End) -> Iterator[Violation]:
            yield Violation("w", severity=WARNING)

    plain = Rule("x.plain", ERROR, "11", "T.", "Why it matters to clients.", Plain)
    res = judge(Exchange(stream_body(*text_stream("a"))), "sansa", [plain]).results[0]
    assert res.status == FAIL and "declares no conditional severity" in res.findings[0].message


def test_list_delta_index() -> None:
    def rd(**extra: Any) -> dict[str, Any]:
        return {"type": "reasoning.text", "text": "t", **extra}

    def body(*deltas: dict[str, Any]) -> bytes:
        return stream_body(chunk({"role": "assistant", "content": ""}), *(chunk(d) for d in deltas), chunk({"content": "x"}), chunk({}, "stop", usage=USAGE))

    assert status(body({"reasoning_details": [rd(index=0)]}, {"reasoning_details": [rd(index=0.0)]}), "compat.list-delta-index") == PASS
    assert status(body({"reasoning_details": [rd()]}), "compat.list-delta-index") == PASS  # appears once
    assert status(body({"reasoning_details": [rd()]}, {"annotations": [{"type": "u"}]}), "compat.list-delta-index") == PASS
    assert status(body({"reasoning_details": [rd(index=0)]}, {"reasoning_details": [rd()]}), "compat.list-delta-index") == FAIL
    assert status(body({"reasoning_details": []}, {"reasoning_details": [rd()]}), "compat.list-delta-index") == FAIL  # [] appears
    assert status(body({"annotations": ["a"]}, {"annotations": [{"index": 1}]}), "compat.list-delta-index") == FAIL
    assert status(body({"reasoning_details": [rd(index="0")]}, {"reasoning_details": [rd(index=1)]}), "compat.list-delta-index") == FAIL
    # tool_calls have their own rules (tools.index)
    assert status(tool_stream(FIRST, {"function": {"arguments": "{}"}}), "compat.list-delta-index") == PASS
    # per choice: the same field once in each of two choices is no merge
    two = stream_body(chunk({"role": "assistant", "reasoning_details": [rd()]}, index=0), chunk({"role": "assistant", "reasoning_details": [rd()]}, index=1))
    assert status(two, "compat.list-delta-index") == PASS


def test_no_choice_message() -> None:
    chunks = text_stream("a", "b")
    assert status(stream_body(*chunks), "compat.no-choice-message") == PASS
    chunks[1]["choices"][0]["message"] = None  # null counts as absent
    assert status(stream_body(*chunks), "compat.no-choice-message") == PASS
    chunks[2]["choices"][0]["message"] = {"role": "assistant", "content": "ab"}
    res = result(stream_body(*chunks), "compat.no-choice-message")
    assert res.status == FAIL and res.findings[0].path == "$.choices[0].message" and res.findings[0].event == 2


def test_usage_last_under_both_profiles() -> None:
    request = {"stream_options": {"include_usage": True}}
    after = {**chunk(), "choices": [], "moderation": {"flagged": False}}
    body = stream_body(*text_stream("a"), after)
    assert status(body, "compat.usage-last", "openai", request=request) == WARN
    assert status(body, "usage.present-last", "openai", request=request) == PASS
    assert status(body, "compat.usage-last") == WARN and status(body, "usage.present-last") == FAIL  # sansa: both
    assert status(stream_body(*text_stream("a")), "compat.usage-last") == PASS
    assert status(stream_body(chunk({"role": "assistant"}), chunk({}, "stop")), "compat.usage-last") == NA


def test_error_event_without_choices_fails_its_shape_and_finishes_once() -> None:
    for err in ({"error": {"code": "p", "message": "x"}}, {"error": {"code": "p", "message": "x"}, "choices": []}):
        body = stream_body(chunk({"role": "assistant", "content": "a"}, index=0), chunk({"role": "assistant", "content": "b"}, index=1), err)
        assert status(body, "error.mid-stream-shape") == FAIL
        assert status(body, "chunk.finish-reason-once") == PASS  # it finishes both open choices
        assert judge(Exchange(body)).message[1].finish_reason == "error"


def test_null_error_markers_leave_a_stream_conformant() -> None:
    chunks = text_stream("a", "b")
    for c, marker in zip(chunks, (None, {}, "", False)):
        c["error"] = marker
    verdict = judge(Exchange(stream_body(*chunks)))
    assert verdict.ok and not [r for r in verdict.results if r.status == WARN]
    assert verdict.result("error.mid-stream-shape").status == NA  # type: ignore[union-attr]


def test_nan_fails_json_payload() -> None:
    for constant in ("NaN", "Infinity", "-Infinity"):
        payload = json.dumps(chunk({"content": "a"}))[:-1] + f', "score": {constant}}}'
        res = result(stream_body(chunk({"role": "assistant", "content": ""}), payload, chunk({}, "stop", usage=USAGE)), "sse.json-payload")
        assert res.status == FAIL and "not standard JSON" in res.findings[0].message


# ---- sse.incremental on synthetic arrival times ------------------------------------------


def timed(n_content: int, times: Any, headers_at: float = 0.1) -> Exchange:
    """A text answer of ``n_content`` content events; ``times(k)`` is event k's arrival."""
    body = stream_body(*text_stream(*[f" w{k}" for k in range(n_content)]))
    offsets = [0] + [i + 2 for i in range(len(body)) if body.startswith(b"\n\n", i) and i + 2 < len(body)]
    arrivals = tuple((off, round(times(k), 6)) for k, off in enumerate(offsets))
    return Exchange(body, timing=Timing(arrivals, headers_at))


def incremental(ex: Exchange) -> Any:
    res = judge(ex).result("sse.incremental")
    assert res is not None
    return res


def test_incremental_quiet_on_a_fast_model() -> None:
    """300 tokens at 2,000 tokens/s: 150 ms of spread, nothing buffered."""
    assert incremental(timed(300, lambda k: 0.3 + k / 2000)).status == PASS


def test_incremental_quiet_on_a_slow_start() -> None:
    """The first event after 5 s, then 30 tokens/s: a long wait is not buffering."""
    assert incremental(timed(30, lambda k: 5.0 + k / 30, headers_at=0.05)).status == PASS
    assert incremental(timed(10, lambda k: 5.0 + k / 30, headers_at=0.05)).status == NA  # 13 events: too short


def test_incremental_fires_on_a_body_sent_in_one_write() -> None:
    res = incremental(timed(40, lambda k: 2.0))
    assert res.status == WARN and "buffered" in res.findings[0].message
    # a fast burst is still a burst, whenever it comes: 300 events within 3 ms
    assert incremental(timed(300, lambda k: 0.5 + k / 100_000)).status == WARN
    # the role chunk flushed early, the rest held back: still one burst
    assert incremental(timed(40, lambda k: 0.2 if k == 0 else 3.0)).status == WARN


def test_incremental_not_applicable_to_a_stream_too_short_to_tell() -> None:
    res = incremental(timed(3, lambda k: 0.2 + k / 5000))
    assert res.status == NA and "too short to tell" in (res.reason or "")
    assert incremental(timed(3, lambda k: 1.0)).status == NA  # one write, but only 6 events
    assert judge(Exchange(stream_body(*text_stream(*["x"] * 40)))).result("sse.incremental").status == NA  # type: ignore[union-attr]


# ---- scenario.exercised -------------------------------------------------------------------


def test_parallel_tools_scenario_needs_two_calls() -> None:
    second = call(1, id="call_2", type="function", function={"name": "g", "arguments": "{}"})
    one = tool_stream({**FIRST, "function": {"name": "f", "arguments": "{}"}})
    res = result(one, "scenario.exercised", scenario="parallel-tools")
    assert res.status == WARN and "one tool call" in res.findings[0].message
    two = tool_stream({**FIRST, "function": {"name": "f", "arguments": "{}"}}, second)
    assert status(two, "scenario.exercised", scenario="parallel-tools") == PASS
    assert status(one, "scenario.exercised", scenario="tool-call") == PASS
    none = stream_body(*text_stream("no tools"))
    assert "has no tool calls" in result(none, "scenario.exercised", scenario="parallel-tools").findings[0].message


def test_list_delta_index_sees_a_content_list_alone_in_its_delta() -> None:
    parts = [{"type": "text", "text": "a"}]
    body = stream_body(chunk({"role": "assistant", "content": parts}), chunk({"content": parts}), chunk({}, "stop", usage=USAGE))
    assert status(body, "compat.list-delta-index") == FAIL


def test_bom_before_an_event_without_chunk_data_is_a_warning() -> None:
    assert "is [DONE]" in result(BOM + b"data: [DONE]\n\n", "compat.no-bom").findings[0].severity_reason
    assert "no JSON object" in result(BOM + stream_body("ping", *text_stream("a")), "compat.no-bom").findings[0].severity_reason
    empty = result(BOM + stream_body(chunk({}), *text_stream("a")), "compat.no-bom")
    assert empty.status == WARN and "nothing a client needs" in empty.findings[0].severity_reason


def test_incremental_runs_give_the_window_of_every_time() -> None:
    """The fold keeps arrival times as runs (a time and how many in a row): the window over
    the runs is the window over the times, in order or not."""
    import random

    from conformance.rules.delivery import Run, burst_window, run_window
    from conformance.sse import Event

    rng = random.Random(12)
    ev = Event(0, 0, 0, "", "", "", None)
    for _ in range(3000):
        times = [round(rng.uniform(0, 3), rng.choice([0, 1, 2])) for _ in range(rng.randrange(1, 60))]
        if rng.random() < 0.5:
            times.sort()
        runs: list[Run] = []
        for t in times:
            if runs and runs[-1].time == t:
                runs[-1].count += 1
            else:
                runs.append(Run(t, ev))
        share = rng.choice([0.9, 0.5])
        assert run_window(runs, len(times), share) == burst_window(times, share)


def test_incremental_cites_the_event_where_the_burst_starts_even_inside_a_run() -> None:
    """Arrival times that go back (a hand-written timing) can start the window inside a run
    of equal times: the fold finds that event by reading the body again, so the finding
    cites the event the whole list of times gives."""
    from conformance.rules.delivery import burst_window
    from conformance.sse import parse

    body = stream_body(*text_stream(*["x"] * 40))
    events = parse(body).events
    # the first six events at 1.0 s, the rest at 9.0 s but for the last three, back at 1.0 s:
    # the window of 90 % ending on those three is 0 s wide and starts inside the first run
    times = [1.0] * 6 + [9.0] * (len(events) - 9) + [1.0] * 3
    start, _, width = burst_window(times)
    assert width == 0.0 and 0 < start < 6
    res = incremental(Exchange(body, timing=Timing(tuple((ev.end, t) for ev, t in zip(events, times)))))
    assert res.status == WARN and res.findings[0].event == events[start].index
    assert res.findings[0].offset == events[start].offset and f"from {times[start]:.3f} s on" in res.findings[0].message


def test_findings_past_the_cap_are_counted_not_described() -> None:
    """A fold describes only the violations the report keeps (jsonschema's first_error is
    costly and builds cyclic errors that stay alive while the collector is paused); the rest
    still count in the total and the status."""
    bad_error = {"error": {"code": 1}, "choices": []}
    body = stream_body(chunk({"role": "assistant", "content": "a"}), *[bad_error] * 30, done=False)
    res = judge(Exchange(body)).result("error.mid-stream-shape")
    assert res is not None and res.status == FAIL and res.total == 30 and len(res.findings) == 20
    assert all("does not match" in f.message for f in res.findings)
    bad_detail = {"reasoning_details": [{"type": 5}]}
    chunks = [chunk({"role": "assistant", "content": ""}, index=1), *[chunk(bad_detail, index=i % 2) for i in range(50)]]
    chunks += [chunk({}, "stop", index=0), chunk({}, "stop", index=1, usage=USAGE)]
    res = judge(Exchange(stream_body(*chunks))).result("reasoning.schema")
    assert res is not None and res.status == FAIL and res.total == 50
    assert [f.event for f in res.findings] == [1 + 2 * k for k in range(20)]  # choice 0 first, in stream order
    assert all("reasoning-detail.json" in f.message for f in res.findings)


def test_folds_that_ask_for_plain_chunks_only_in_some_states_still_see_them() -> None:
    """Plain chunks (the template chunk again with another content string) skip the folds
    that do not need them; these rules need them only in some states and must see every one
    then: content that begins in a plain chunk, chunks after an early usage chunk, a template
    choice without finish_reason or with a message object."""
    words = [chunk({"content": f"w{k}"}) for k in range(30)]
    # content begins in a plain chunk (the template's content is blank), reasoning after it
    body = stream_body(chunk({"role": "assistant", "content": ""}), chunk({"content": " "}), *words, chunk({"reasoning_content": "late"}), chunk({}, "stop", usage=USAGE))
    res = judge(Exchange(body)).result("reasoning.before-content")
    assert res is not None and res.status == FAIL and "content began at event #2" in res.findings[0].message
    # an early usage chunk, then 31 chunks
    body = stream_body(chunk({"role": "assistant", "content": ""}, usage=USAGE), *words, chunk({}, "stop"))
    res = judge(Exchange(body)).result("compat.usage-last")
    assert res is not None and res.status == WARN and "Received: 31 chunk(s) after it" in res.findings[0].message
    # every choice without the finish_reason key: 32 findings, the first 20 kept
    keyless = [chunk({"content": f"w{k}"}) for k in range(30)]
    for c in keyless:
        del c["choices"][0]["finish_reason"]
    body = stream_body(chunk({"role": "assistant", "content": ""}), *keyless, chunk({}, "stop", usage=USAGE))
    res = judge(Exchange(body)).result("compat.finish-reason-key")
    assert res is not None and res.status == WARN and res.total == 30 and [f.event for f in res.findings] == list(range(1, 21))
    # every choice with a message object
    carrying = [chunk({"content": f"w{k}"}) for k in range(30)]
    for c in carrying:
        c["choices"][0]["message"] = {"role": "assistant"}
    body = stream_body(chunk({"role": "assistant", "content": ""}), *carrying, chunk({}, "stop", usage=USAGE))
    res = judge(Exchange(body)).result("compat.no-choice-message")
    assert res is not None and res.status == FAIL and "(and 29 later chunk(s))" in res.findings[0].message


def test_dataless_blocks_after_done_are_left_out_of_the_count() -> None:
    """compat.no-dataless-blocks watches no event: blocks after [DONE] are left out at the end,
    counting again from the body when more than the kept ones came on both sides."""
    parts = stream_body(*text_stream(*["x"] * 30)).split(b"\n\n")
    before = b"\n\n".join(p + b"\n\nid: 7\n\nevent: ping" for p in parts[:-2])
    body = before + b"\n\n" + parts[-2] + b"\n\n" + b"event: a\n\n" * 15
    res = judge(Exchange(body)).result("compat.no-dataless-blocks")
    assert res is not None and res.status == FAIL and len(res.findings) == 20
    assert res.total == (len(parts) - 2) * 2  # each id: line alone, each event: line alone; none after [DONE]
