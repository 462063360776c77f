"""Decoding and the assembler: what a client ends up with."""

from __future__ import annotations

import json

from hypothesis import given, settings, strategies as st

from conformance import Exchange
from conformance.profiles import get_profile
from conformance.stream import KIND_ANNOTATION, KIND_BAD, KIND_CHUNK, KIND_ERROR, decode

from .conftest import USAGE, chunk, stream_body, text_stream

SANSA = get_profile("sansa")
OPENAI = get_profile("openai")


def test_classification() -> None:
    err = {"error": {"code": "provider_error", "message": "x"}, "choices": [{"finish_reason": "error"}]}
    annotation = {"id": "", "object": "", "created": 0, "model": "", "choices": [], "prompt_filter_results": []}
    body = stream_body(annotation, chunk({"role": "assistant"}), "nope", err) + b"data: {}\n\n"
    s = decode(Exchange(body), OPENAI)
    assert [i.kind for i in s.items] == [KIND_ANNOTATION, KIND_CHUNK, KIND_BAD, KIND_ERROR]
    assert s.done is not None and len(s.after_done) == 1
    s = decode(Exchange(body), SANSA)  # no annotations under sansa
    assert [i.kind for i in s.items] == [KIND_CHUNK, KIND_CHUNK, KIND_BAD, KIND_ERROR]


def test_assembles_text_reasoning_and_usage() -> None:
    chunks = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning_details": [{"type": "reasoning.text", "text": "think "}]}),
        chunk({"reasoning": "more"}),
        chunk({"content": "Hel"}),
        chunk({"content": "lo"}),
        chunk({}, "stop", usage=USAGE),
    ]
    msg = decode(Exchange(stream_body(*chunks)), SANSA).message[0]
    assert (msg.role, msg.content, msg.reasoning, msg.finish_reason) == ("assistant", "Hello", "think more", "stop")
    assert msg.usage == USAGE and msg.reasoning_items == 1


def test_parallel_tool_calls_merge_by_index() -> None:
    chunks = [
        chunk({"role": "assistant", "tool_calls": [{"index": 0, "id": "a", "type": "function", "function": {"name": "f", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 1, "id": "b", "type": "function", "function": {"name": "g", "arguments": '{"y"'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"x": 1}'}}]}),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": ": 2}"}}]}),
        chunk({}, "tool_calls", usage=USAGE),
    ]
    calls = decode(Exchange(stream_body(*chunks)), SANSA).message[0].tool_calls
    assert [(c.index, c.id, c.name, json.loads(c.arguments)) for c in calls] == [(0, "a", "f", {"x": 1}), (1, "b", "g", {"y": 2})]


def test_two_choices_are_kept_apart() -> None:
    chunks = [
        chunk({"role": "assistant", "content": "A"}, index=0),
        chunk({"role": "assistant", "content": "B"}, index=1),
        chunk({}, "stop", index=1),
        chunk({}, "stop", index=0, usage=USAGE),
    ]
    msgs = decode(Exchange(stream_body(*chunks)), SANSA).message
    assert {i: m.content for i, m in msgs.items()} == {0: "A", 1: "B"}


def test_error_event_finishes_the_open_choice() -> None:
    err = {"error": {"code": "provider_error", "message": "x"}, "choices": [{"finish_reason": "error"}]}
    s = decode(Exchange(stream_body(chunk({"role": "assistant", "content": "par"}), err)), SANSA)
    assert s.message[0].finish_reason == "error"


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(st.text(min_size=1, max_size=5), st.one_of(st.integers(), st.text(max_size=8), st.booleans()), max_size=5),
    st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=20),
)
def test_random_fragmentation_of_arguments_reassembles_exactly(args: dict, cuts: list[int]) -> None:
    text = json.dumps(args)
    pieces, pos = [], 0
    for c in cuts:
        pieces.append(text[pos : pos + c])
        pos += c
    pieces.append(text[pos:])
    chunks = [chunk({"role": "assistant", "tool_calls": [{"index": 0, "id": "c", "type": "function", "function": {"name": "f", "arguments": ""}}]})]
    chunks += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}) for p in pieces]
    chunks.append(chunk({}, "tool_calls", usage=USAGE))
    (call,) = decode(Exchange(stream_body(*chunks)), SANSA).message[0].tool_calls
    assert call.arguments == text and json.loads(call.arguments) == args


def test_text_stream_helper_is_conformant() -> None:
    from conformance import judge

    assert judge(Exchange(stream_body(*text_stream("a", "b")))).ok


def test_an_error_that_reads_as_false_is_no_error_event() -> None:
    """Section 0: null, false, 0, "", {} and [] are no-error markers (the SDKs test for truth)."""
    markers = [None, False, 0, 0.0, "", {}, []]
    body = stream_body(*(chunk({"content": "x"}, error=m) for m in markers))
    s = decode(Exchange(body), SANSA)
    assert [i.kind for i in s.items] == [KIND_CHUNK] * len(markers) and not s.errors
    for truthy in ({"message": "x"}, "boom", 1, True, ["x"]):
        s = decode(Exchange(stream_body(chunk({"content": "x"}, error=truthy))), SANSA)
        assert [i.kind for i in s.items] == [KIND_ERROR], truthy


def test_nan_and_infinity_are_not_json_whichever_decoder_reads_them() -> None:
    for constant in ("NaN", "Infinity", "-Infinity"):
        for payload in (f'{{"x": {constant}}}', f'{{"choices": [], "u": [1, {constant}]}}'):
            (item,) = decode(Exchange(stream_body(payload)), SANSA).items
            assert item.kind == KIND_BAD and constant in (item.problem or ""), (payload, item.problem)
    # what orjson refuses but JSON allows still decodes (an escaped lone surrogate, 1e400)
    (item,) = decode(Exchange(stream_body('{"a": "\\ud83d", "b": 1e400}')), SANSA).items
    assert item.kind == KIND_CHUNK
