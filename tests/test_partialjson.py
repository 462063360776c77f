"""The partial-JSON automaton: every prefix of valid JSON passes; corruptions are caught."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.partialjson import first_invalid

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
