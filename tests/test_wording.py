"""The finding wording helper: one Expected/Received shape, values shown safely and cut honestly."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, strategies as st

from conformance.rules.wording import LIMIT, LINE_LIMIT, expected_received, named, one_line, shown

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text() | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5) | st.tuples(inner) | st.tuples(inner, inner),
    max_leaves=30,
)
CUT = re.compile(r"\.\.\. \[cut(: (\d[\d,]*) of (\d[\d,]*) (characters|bytes) shown| at (\d+) characters)\]$")


@given(json_values, st.integers(min_value=8, max_value=200))
def test_a_value_that_fits_is_its_repr_and_one_that_does_not_is_cut_with_the_cut_stated(value: Any, limit: int) -> None:
    text = shown(value, limit)
    if len(repr(value)) <= limit:
        assert text == repr(value)
    else:
        m = CUT.search(text)
        assert m, text
        assert len(text[: m.start()]) <= limit - 3
        if not isinstance(value, (str, bytes)):
            # a cut string inside a container may pick the other quote than the whole would
            assert repr(value).replace('"', "'").startswith(text[: m.start()].replace('"', "'"))
    assert text.isprintable(), "a shown value never carries a raw control character or newline"


@given(st.one_of(st.text(min_size=1), st.binary(min_size=1)), st.integers(min_value=8, max_value=60))
def test_a_cut_string_says_how_many_of_its_characters_are_shown(value: str | bytes, limit: int) -> None:
    text = shown(value, limit)
    m = CUT.search(text)
    if m is None:
        assert text == repr(value)
        return
    kept, total = int(m.group(2).replace(",", "")), int(m.group(3).replace(",", ""))
    assert total == len(value) and kept < total
    # the shown part is exactly the repr of the kept prefix, less its closing quote: never half an escape
    assert text[: m.start()] == repr(value[:kept])[:-1]
    assert m.group(4) == ("characters" if isinstance(value, str) else "bytes")


def test_endpoint_text_cannot_forge_a_line_or_a_terminal_control() -> None:
    hostile = "ok\nExpected: nothing\r\x1b[2J\u2028\u202e\x00"
    message = expected_received(f"The role is {hostile}.", expected="role='assistant'", received=hostile)
    lines = message.split("\n")
    assert len(lines) == 3
    assert lines[1] == "Expected: role='assistant'"
    assert lines[2].startswith("Received: ok\\nExpected: nothing\\r\\x1b[2J\\u2028\\u202e\\x00")
    assert all(line.isprintable() for line in lines)
    assert shown(hostile) == repr(hostile)


def test_received_as_a_mapping_is_written_name_equals_value() -> None:
    message = expected_received("The first delta of choice 0 has the wrong role.", expected="role='assistant'", received={"role": "user", "index": 0})
    assert message == "The first delta of choice 0 has the wrong role.\nExpected: role='assistant'\nReceived: role='user', index=0"
    assert named("finish_reason", "x" * 200).startswith("finish_reason='xxx")
    assert named("finish_reason", "x" * 200).endswith(f"[cut: {LIMIT - 4} of 200 characters shown]")


def test_a_huge_value_costs_only_its_shown_part() -> None:
    """The repr is built lazily and stops at the limit: a value past the cut is never shown,
    so one whose repr would fail (or take an hour) is never asked for its repr."""

    class Unshowable:
        def __repr__(self) -> str:
            raise AssertionError("repr asked for a value past the cut")

    assert shown(["x" * 10_000_000, Unshowable()]).endswith("... [cut at 80 characters]")
    assert shown({"a": list(range(1000)), "b": Unshowable()}, 40).startswith("{'a': [0, 1, 2")
    assert shown("y" * 50_000_000).endswith("[cut: 76 of 50,000,000 characters shown]")


def test_a_long_line_is_cut_with_the_cut_stated() -> None:
    assert one_line("short") == "short"
    line = one_line("ab" * LINE_LIMIT)
    assert len(line) < LINE_LIMIT + 50 and line.endswith(f"... [cut: {LINE_LIMIT - 3} of {2 * LINE_LIMIT:,} characters shown]")
    escaped = one_line("\n" * LINE_LIMIT)
    assert escaped.startswith("\\n\\n") and escaped.endswith(f"[cut: {(LINE_LIMIT - 3) // 2} of {LINE_LIMIT} characters shown]")
    with pytest.raises(ValueError):
        shown("x", 3)
