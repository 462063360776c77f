"""The partial-JSON automaton: every prefix of valid JSON passes; corruptions are caught."""

from __future__ import annotations

import json

from hypothesis import given, settings, strategies as st

from conformance.partialjson import PartialJSON, first_invalid

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=15,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.sampled_from([None, 2]), st.booleans())
def test_every_prefix_of_valid_json_is_accepted(value: object, indent: int | None, ascii_only: bool) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    assert first_invalid(text) is None
    assert first_invalid(" \n" + text + "\n ") is None


@settings(max_examples=300, deadline=None)
@given(json_values, st.sampled_from(["```", "Sure! ", "x", "}", "]", ",", ":", '"more"']))
def test_prose_and_fences_around_json_are_caught_where_they_start(value: object, junk: str) -> None:
    text = json.dumps(value)
    assert first_invalid(junk + text) == 0 or (junk == '"more"' and first_invalid(junk + text) == len(junk))
    assert first_invalid(text + "\n" + junk) == len(text) + 1


@settings(max_examples=200, deadline=None)
@given(json_values, st.data())
def test_any_cut_of_valid_json_stays_a_valid_prefix(value: object, data: st.DataObject) -> None:
    text = json.dumps(value)
    cut = data.draw(st.integers(min_value=0, max_value=len(text)))
    assert first_invalid(text[:cut]) is None


def test_known_cases() -> None:
    assert first_invalid('```json\n{"a": 1}\n```') == 0
    assert first_invalid('Here you go: {"a": 1}') == 0
    assert first_invalid('{"a": 1} trailing') == 9
    assert first_invalid('{"a": [1, 2.5e') is None
    assert first_invalid("[1,]") == 3
    assert first_invalid("01") == 1
    assert first_invalid('{"a":1}\n```') == 8


@settings(max_examples=300, deadline=None)
@given(json_values, st.sampled_from(["", "```json\n", "Sure! ", "\n```", "]", "[ ]", '"x"', "  ", "{}", "\u0001"]), st.integers(0, 60), st.lists(st.integers(0, 12), max_size=12))
def test_fed_in_pieces_it_answers_as_on_the_whole(value: object, junk: str, at: int, cuts: list[int]) -> None:
    """structured.partial-json feeds each delta's content as it streams: the resumable
    automaton finds the same first impossible character as first_invalid on the whole text,
    wherever the pieces are cut (inside a string, an escape, a number, between '[' and ']')."""
    text = json.dumps(value)
    text = text[:at] + junk + text[at:]
    automaton = PartialJSON()
    got = None
    prev = 0
    for cut in [*sorted(min(c * 3, len(text)) for c in cuts), len(text)]:
        got = automaton.feed(text[prev:cut])
        prev = cut
    assert got == first_invalid(text)
    if got is not None:
        assert automaton.feed('"more"') == got  # once found, it stays


@settings(max_examples=150, deadline=None)
@given(json_values, st.lists(st.integers(1, 9), min_size=1, max_size=30), st.sampled_from([None, "```json\n", "Sure! ", "\n```"]))
def test_structured_rules_on_randomly_split_documents(value: object, cuts: list[int], junk: str | None) -> None:
    """A JSON document streamed in random fragments passes structured.partial-json and
    structured.valid-json; the same stream with a fence or prose added is caught by both."""
    from conformance import Exchange, judge

    from .conftest import USAGE, chunk, stream_body

    text = json.dumps({"v": value})
    if junk is not None:
        text = junk + text if not junk.startswith("\n") else text + junk
    pieces, pos = [], 0
    for c in cuts:
        pieces.append(text[pos : pos + c])
        pos += c
    pieces.append(text[pos:])
    body = stream_body(chunk({"role": "assistant", "content": ""}), *[chunk({"content": p}) for p in pieces if p], chunk({}, "stop", usage=USAGE))
    request = {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}}
    verdict = judge(Exchange(body, request=request))
    statuses = {r.rule: r.status for r in verdict.results if r.rule.startswith("structured.")}
    if junk is None:
        assert statuses == {"structured.partial-json": "pass", "structured.valid-json": "pass", "structured.schema": "pass"}
    else:
        assert statuses["structured.partial-json"] == "warn" and statuses["structured.valid-json"] == "fail"
