"""The finding wording helper: one Expected/Received shape, values shown safely and cut honestly."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, strategies as st

from conformance import judge, load
from conformance.exchange import Exchange
from conformance.rules import get_rule
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


# The rule modules whose messages go through expected_received (issue 13). clients.py is not
# one: it lays out a client's reading against the spec's its own way (one Expected/Received
# pair per differing field, indented), and fold.py/wording.py/_util.py hold no rules.
CONVERTED = {
    f"conformance.rules.{name}"
    for name in (
        "capture", "chunks", "compat", "delivery", "error_events", "framing",
        "reasoning", "request", "structured", "tools", "usage",
    )
}  # fmt: skip

# Findings that compare nothing with what the spec wants, so a plain sentence stays:
NON_COMPARISON = {
    # the request got no answer, was cut, or was redirected: a report of what happened, with
    # no place in the body (a line over the limit, at its offset, is a comparison and checked)
    "capture.complete",
    # the plain request was refused or rate limited: the refusal's text and its likely cause
    "run.endpoint-usable",
    # a scenario's feature was not exercised: advice to skip the scenario, not a spec rule
    "scenario.exercised",
}

VIOLATION_FIXTURES = sorted((Path(__file__).parent.parent / "fixtures" / "violations").rglob("*.sse"))


def _is_comparison(rule_id: str, offset: int | None) -> bool:
    return rule_id not in NON_COMPARISON or (rule_id == "capture.complete" and offset is not None)


def test_every_comparison_finding_on_the_violation_corpus_says_expected_and_received() -> None:
    """Judge every violation fixture: each finding of a converted rule shows both sides in the
    one shape (summary, Expected:, Received:), unless the rule is listed as no comparison."""
    assert VIOLATION_FIXTURES
    checked: set[str] = set()
    exempt: set[str] = set()
    wrong: list[str] = []
    for path in VIOLATION_FIXTURES:
        for result in judge(load(path)).results:
            if get_rule(result.rule).check.__module__ not in CONVERTED:
                continue
            for finding in result.findings:
                if not _is_comparison(finding.rule, finding.offset):
                    exempt.add(finding.rule)
                    continue
                checked.add(finding.rule)
                lines = finding.message.split("\n")
                if not (len(lines) >= 3 and lines[1].startswith("Expected: ") and lines[2].startswith("Received: ")):
                    wrong.append(f"{path.parent.name}/{path.name}: {finding.rule}: {finding.message!r}")
    assert not wrong, "\n".join(wrong)
    # the list of exemptions is not stale, and the check saw the rules it is about
    assert exempt == NON_COMPARISON
    assert len(checked) >= 35, sorted(checked)


def test_a_converted_message_carries_no_raw_endpoint_line_break() -> None:
    """A value from the endpoint with a newline stays on its Received: line (the helper escapes it)."""
    chunk = b'{"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
    chunk += b'"choices":[{"index":0,"delta":{"role":"user\\nExpected: forged"},"finish_reason":null}]}'
    body = b"data: " + chunk + b"\n\ndata: [DONE]\n\n"
    res = judge(Exchange(body)).result("chunk.role-first")
    assert res is not None and res.findings
    lines = res.findings[0].message.split("\n")
    assert len(lines) == 3 and lines[1] == "Expected: role='assistant'" and lines[2].startswith("Received: role=")
    assert "\\n" in lines[2]
