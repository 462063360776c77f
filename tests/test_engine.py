"""The one-pass engine: verdicts do not depend on how the body is cut, on whether it is read
from memory or from disk in blocks; folds get only the hooks they override; findings stay
bounded with exact totals; a fold that crashes is a finding, never the end of the run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from conformance import Exchange, Timing, engine, judge
from conformance.findings import ERROR, FAIL, NA, PASS, WARNING, Verdict, Violation
from conformance.judge import judge_exchange
from conformance.profiles import get_profile
from conformance.recordings import iter_recordings, load
from conformance.rules import Rule
from conformance.rules.fold import MAX_FINDINGS, Context, End, Findings, Fold
from conformance.sse import Event
from conformance.stream import DecodedEvent, Visit

from .conftest import FIXTURES, USAGE, chunk, stream_body, text_stream


def plain(verdict: Verdict) -> dict[str, Any]:
    """A verdict as comparable data: every result and finding, the message, the timing."""
    return {
        "results": [(r.rule, r.severity, r.status, r.total, r.reason, [(f.to_json(), f.end) for f in r.findings]) for r in verdict.results],
        "message": {k: m.to_json() for k, m in verdict.message.items()},
        "timing": verdict.timing,
        "arrivals": verdict.arrivals,
    }


def _messy_body() -> bytes:
    """Two choices, tool calls, a repeated role, a bad payload, usage twice, CRLF framing,
    a comment block, an event after [DONE]: most rules have something to say."""
    payloads: list[Any] = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"role": "assistant", "content": "x"}, index=1),
        chunk({"content": "é"}),
        "not json",
        chunk({"tool_calls": [{"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": "{"}}]}),
        chunk({"role": "assistant", "tool_calls": [{"index": 0, "function": {"arguments": "}"}}]}),
        chunk({}, "stop", usage=USAGE),
        chunk({"content": "late"}, "stop", index=1, usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 3}),
    ]
    body = stream_body(*payloads).replace(b"\n\n", b"\r\n\r\n", 3)
    return b": hello\n\n" + body + b"data: {\"after\": 1}\n\n"


def _spaced(*payloads: Any) -> bytes:
    """Payloads as json.dumps writes them by default (", " and ": "), [DONE] last."""
    return b"".join(b"data: " + json.dumps(p).encode() + b"\n\n" for p in payloads) + b"data: [DONE]\n\n"


BODIES = {
    # content strings that also occur elsewhere in the chunk's text: the template of plain
    # chunks must be cut around the content, not around the model name or a separator
    "decoys": _spaced(
        chunk({"role": "assistant", "content": ""}),
        *(chunk({"content": c}) for c in [": ", ", ", "sansa-auto", "chatcmpl-1", "x", "y\u2028", "q\"", "é"]),
        chunk({}, "stop", usage=USAGE),
        chunk({"content": "after the finish"}),
    ),
    "text": stream_body(*text_stream("Hel", "lo")),
    "messy": _messy_body(),
    "no-done": stream_body(*text_stream("a"), done=False) + b"data: [DONE]",
    "bad-utf8": stream_body(*text_stream("a")).replace(b'"a"', b'"\xe2\x82"'),
    "bom": b"\xef\xbb\xbf" + stream_body(*text_stream("a")),
}


@pytest.mark.parametrize("name", sorted(BODIES))
@pytest.mark.parametrize("block", [1, 2, 7, 64, 1 << 20])
def test_the_verdict_does_not_depend_on_the_block_size(name: str, block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    body = BODIES[name]
    timing = Timing(((0, 0.1), (len(body) // 2, 0.5), (len(body) - 3, 2.0)), 0.05)
    whole = {p: plain(judge(Exchange(body, timing=timing), p)) for p in ("sansa", "openai")}
    monkeypatch.setattr(engine, "BLOCK", block)
    for p in ("sansa", "openai"):
        assert plain(judge(Exchange(body, timing=timing), p)) == whole[p]


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_any_cut_of_the_body_gives_the_same_verdict(data: st.DataObject) -> None:
    """Fed in arbitrary pieces (as a live capture's reads come), the pass judges the same."""
    body = BODIES[data.draw(st.sampled_from(sorted(BODIES)))]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(body)), max_size=12)))
    profile = get_profile("sansa")
    want = plain(judge(Exchange(body), profile))
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)])]
    assert plain(judge_exchange(Exchange(body), profile, blocks=pieces)) == want


def _corpus() -> list[Path]:
    return [p for p in iter_recordings([FIXTURES]) if p.suffix == ".sse"]


def test_a_recording_judged_from_disk_in_blocks_equals_one_judged_from_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "BLOCK", 4096)
    paths = _corpus()
    assert len(paths) > 50
    for path in paths:
        lazy = load(path, lazy=True)
        assert lazy.body == b"" and lazy.file is not None and lazy.size == path.stat().st_size
        assert plain(judge(lazy)) == plain(judge(load(path))), path


def test_a_body_on_disk_reads_like_bytes_for_excerpts(tmp_path: Path) -> None:
    path = tmp_path / "x.sse"
    body = stream_body(*text_stream("abc"))
    path.write_bytes(body)
    file = load(path, lazy=True).file
    assert file is not None
    assert len(file) == len(body) and file[5:40] == body[5:40] and file[-10:] == body[-10:]
    assert file.find(b'"content"', 10, 300) == body.find(b'"content"', 10, 300)
    assert file.find(b"zzz") == -1


# ---------------------------------------------------------------------------------------
# Folds as the engine sees them


def _rule(fold: type[Fold], rid: str = "x.fold", severity: str = ERROR, **kw: Any) -> Rule:
    return Rule(rid, severity, "4", "T.", "Why it matters to clients.", fold, **kw)  # type: ignore[arg-type]


def test_hooks_are_the_ones_a_fold_overrides() -> None:
    class OnlyEnd(Fold):
        def finish(self, end: End) -> Iterator[Violation]:
            return iter(())

    class Visits(Fold):
        def visit(self, idx: int, v: Visit) -> None:
            pass

        def finish(self, end: End) -> Iterator[Violation]:
            return iter(())

    assert OnlyEnd.overrides == frozenset()
    assert Visits.overrides == frozenset({"visit"})


def test_a_fold_may_narrow_its_hooks_at_the_start() -> None:
    calls: list[int] = []

    class Idle(Fold):
        def __init__(self, ctx: Context) -> None:
            super().__init__(ctx)
            if ctx.exchange.timing is None:
                self.hooks = frozenset()  # nothing to fold without arrival times

        def event(self, ev: Event) -> None:
            calls.append(ev.index)

        def finish(self, end: End) -> Iterator[Violation]:
            return iter(())

    body = stream_body(*text_stream("a"))
    judge(Exchange(body), rules=[_rule(Idle)])
    assert calls == []
    judge(Exchange(body, timing=Timing(((0, 0.1),))), rules=[_rule(Idle)])
    assert calls == [0, 1, 2, 3]


def test_folds_get_events_payloads_and_visits_in_stream_order() -> None:
    seen: list[tuple[Any, ...]] = []

    class Spy(Fold):
        def event(self, ev: Event) -> None:
            seen.append(("event", ev.index))

        def payload(self, item: DecodedEvent) -> None:
            seen.append(("payload", item.event.index, item.kind))

        def visit(self, idx: int, v: Visit) -> None:
            seen.append(("visit", v.item.event.index, idx))

        def finish(self, end: End) -> Iterator[Violation]:
            seen.append(("finish", end.events, end.chunks, end.after_done))
            return iter(())

    two = chunk({"content": "b"})
    two["choices"].append({"index": 1, "delta": {"content": "c"}, "finish_reason": None})
    body = stream_body(chunk({"role": "assistant", "content": "a"}), two, "bad") + b"data: more\n\n"
    verdict = judge(Exchange(body), rules=[_rule(Spy)])
    assert verdict.results[0].status == PASS
    assert seen == [
        ("event", 0), ("payload", 0, "chunk"), ("visit", 0, 0),
        ("event", 1), ("payload", 1, "chunk"), ("visit", 1, 0), ("visit", 1, 1),
        ("event", 2), ("payload", 2, "bad"),
        ("event", 3),  # [DONE]: an event, no payload
        ("event", 4),  # after [DONE]
        ("finish", 5, 2, 1),
    ]


def test_findings_keep_the_first_per_key_in_key_order_and_count_the_rest() -> None:
    class Many(Fold):
        def __init__(self, ctx: Context) -> None:
            super().__init__(ctx)
            self.found = Findings()

        def visit(self, idx: int, v: Visit) -> None:
            for n in range(15):
                self.found.add(Violation(f"choice {idx} #{n}", v.item.event), idx)

        def finish(self, end: End) -> Findings:
            return self.found

    c1 = chunk({"role": "assistant"}, index=1)
    body = stream_body(chunk({"role": "assistant"}), c1, chunk({"content": "x"}), chunk({}, "stop"))
    res = judge(Exchange(body), rules=[_rule(Many)]).results[0]
    # choice 0 appears 3 times (45 violations), choice 1 once (15): choice 0's first 20 kept
    assert (res.status, res.total, len(res.findings)) == (FAIL, 60, MAX_FINDINGS)
    assert [f.message for f in res.findings] == [f"choice 0 #{n}" for n in range(15)] + [f"choice 0 #{n}" for n in range(5)]


def test_a_dropped_error_still_fails_a_conditional_rule() -> None:
    class Mostly(Fold):
        def __init__(self, ctx: Context) -> None:
            super().__init__(ctx)
            self.found = Findings()

        def payload(self, item: DecodedEvent) -> None:
            self.found.add(Violation("w", item.event, severity=WARNING, reason="warning: only this"))

        def finish(self, end: End) -> Findings:
            self.found.tally(ERROR)
            return self.found

    body = stream_body(*[chunk({"content": "x"})] * 30)
    rule = _rule(Mostly, severity_note="error when ...; warning when ...")
    res = judge(Exchange(body), rules=[rule]).results[0]
    assert (res.status, res.severity, res.total, len(res.findings)) == (FAIL, ERROR, 31, 20)
    assert {f.severity for f in res.findings} == {WARNING}


def test_a_fold_that_crashes_is_a_finding_unless_its_rule_does_not_apply() -> None:
    class Crashes(Fold):
        def visit(self, idx: int, v: Visit) -> None:
            raise KeyError("boom")

        def finish(self, end: End) -> Iterator[Violation]:
            raise AssertionError("never finished once broken")

    body = stream_body(*text_stream("a"))
    res = judge(Exchange(body), rules=[_rule(Crashes)]).results[0]
    assert res.status == FAIL and "could not judge this rule (KeyError: 'boom')" in res.findings[0].message
    na = _rule(Crashes, applies=lambda end: "not here")
    assert judge(Exchange(body), rules=[na]).results[0].status == NA


def test_the_pass_keeps_no_events() -> None:
    """The parser of the pass returns events and keeps none (the whole point)."""
    body = stream_body(*text_stream(*"abcdefgh"))
    run = engine.Pass(Exchange(body), get_profile("sansa"), [])
    end = run.run()
    assert run.parser.events == [] and run.parser.count == end.events == 11
    assert end.message[0].content == "abcdefgh" and end.message[0].finish_reason == "stop"


def test_long_content_is_joined_as_it_grows() -> None:
    """A choice of many tokens holds a few strings, not one per token."""
    pieces = [f"{n % 10}" for n in range(10_000)]
    run = engine.Pass(Exchange(stream_body(*text_stream(*pieces))), get_profile("sansa"), [])
    for block in run.exchange.blocks(1 << 16):
        run.feed(block)
    content = run.assembly[0].content
    # the pieces pending stay few, the blocks joined so far are never joined again until the
    # end (joining all of it each time would be quadratic in the tokens)
    assert len(content) <= engine._COMPACT + 1 and content.blocks and sum(map(len, content.blocks)) < 10_000
    assert run.close().message[0].content == "".join(pieces)


def test_sse_utf8_names_the_same_byte_whatever_the_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    body = stream_body(*text_stream("ab")).replace(b'"ab"', b'"a\xe2\x82b"')
    monkeypatch.setattr(engine, "BLOCK", 1)
    res = judge(Exchange(body)).result("sse.utf8")
    assert res is not None and res.status == FAIL
    f = res.findings[0]
    at = body.index(b"\xe2")
    assert f.message.startswith(f"Invalid UTF-8 at byte {at}: ")
    assert "\nReceived: " + r"b'\xe2\x82' (invalid continuation byte)" in f.message
    assert f.event == 1  # the event whose lines hold the byte
    json.dumps(f.to_json())


@pytest.mark.parametrize("name", sorted(BODIES))
def test_the_pass_assembles_what_the_whole_body_decoder_assembles(name: str) -> None:
    """stream.decode (every event in a list) is the reference the pass must match: the same
    message, chunk and error counts, first finishes and last appearances, whichever chunks
    took the short path."""
    from conformance.stream import decode

    for profile in (get_profile("sansa"), get_profile("openai")):
        exchange = Exchange(BODIES[name])
        end = engine.Pass(exchange, profile, []).run()
        ref = decode(exchange, profile)
        assert {k: m.to_json() for k, m in end.message.items()} == {k: m.to_json() for k, m in ref.message.items()}
        assert (end.chunks, end.errors, end.payloads) == (len(ref.chunks), len(ref.errors), len(ref.items))
        assert end.last_chunk == (ref.chunks[-1] if ref.chunks else None)
        assert end.last_payload == (ref.items[-1] if ref.items else None)
        for idx, visits in ref.choices.items():
            facts = end.choices[idx]
            assert (facts.first, facts.last, facts.visits) == (visits[0], visits[-1], len(visits))
            first = ref.finishes[idx]
            assert facts.finish == (visits[first[0]] if first else None)


def test_a_lazy_recording_is_read_when_loaded_and_judged_whole_past_the_in_memory_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A body left on disk has no MAX_BODY: judged whole (the in-memory load cuts it, with a
    capture.complete failure); a file that cannot be read is a usage error at load time."""
    from conformance import recordings
    from conformance.errors import RecordingError

    path = tmp_path / "long.sse"
    body = stream_body(*text_stream(*["tok"] * 200))
    path.write_bytes(body)
    monkeypatch.setattr(recordings, "MAX_BODY", len(body) // 2)
    cut = judge(load(path))
    whole = judge(load(path, lazy=True))
    assert cut.result("capture.complete").status == FAIL  # type: ignore[union-attr]
    assert whole.ok and whole.message[0].content == "tok" * 200
    with pytest.raises(RecordingError):
        load(tmp_path / "missing.sse", lazy=True)


def test_tool_call_entries_without_index_are_bounded_and_counted() -> None:
    """Each entry without an index is a call of its own: a hostile stream of them must not
    grow the assembled message without limit. The first MAX_UNINDEXED stay calls (what the
    verdict reads), the rest are counted, and tools.index still counts every entry."""
    from conformance.stream import MAX_UNINDEXED

    n = 3000
    payloads: list[Any] = [chunk({"role": "assistant", "content": ""})]
    payloads.append(chunk({"tool_calls": [{"index": 0, "id": "c0", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}))
    payloads += [chunk({"tool_calls": [{"id": f"x{i}", "type": "function", "function": {"name": f"g{i}", "arguments": "{}"}}]}) for i in range(n)]
    payloads.append(chunk({}, "tool_calls", usage=USAGE))
    verdict = judge(Exchange(stream_body(*payloads)), "sansa")
    msg = verdict.message[0]
    assert len(msg.tool_calls) == 1 + MAX_UNINDEXED
    assert [t.name for t in msg.tool_calls[1:3]] == ["g0", "g1"]  # the first ones are kept, in order
    assert msg.unindexed_dropped == n - MAX_UNINDEXED
    assert msg.tool_entries == n + 1
    index = verdict.result("tools.index")
    assert index is not None and index.status == FAIL and index.total == n
    # below the cap nothing is dropped: every entry is its own call
    few = judge(Exchange(stream_body(*payloads[:2], *payloads[2:5], payloads[-1])), "sansa").message[0]
    assert len(few.tool_calls) == 4 and few.unindexed_dropped == 0
