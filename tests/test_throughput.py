"""The shortcuts validate takes for speed (benchmarks/validate_throughput.py) change no output
byte and no verdict: each is compared with the plain way on the fixtures and on decoys built
to sit just outside the shortcut."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from conformance import writers
from conformance.cli import main

from .conftest import FIXTURES


def _validate_json(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["validate", "--format", "json", "-j", "1", *args], out=out, err=err)
    return code, out.getvalue()


def _plain_dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def test_json_output_is_json_dumps_byte_for_byte_over_every_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    code, fast = _validate_json(str(FIXTURES))
    monkeypatch.setattr(writers, "dumps_indented", _plain_dumps)
    code_plain, plain = _validate_json(str(FIXTURES))
    assert (code, fast) == (code_plain, plain)
    assert json.loads(fast)["fixtures"]  # the fixtures were judged, findings and all
    assert any(entry["findings"] for entry in json.loads(fast)["fixtures"])


EVERY_CHAR = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)


@pytest.mark.parametrize(
    "value",
    [
        {"message": EVERY_CHAR, "rules": {"a.b": "pass"}, "findings": [], "empty": {}, "n": None, "ok": True, "i": -(2**63)},
        {"float": 1e16},  # orjson: 1e16; json: 1e+16
        {"nan": float("nan")},  # orjson: null; json: NaN
        {"surrogate": "\ud800"},  # orjson refuses it
        {1: "non-str key"},  # orjson refuses it
        {"big": 2**70},  # orjson refuses it
        [("a", 1.5)],
    ],
)
def test_dumps_indented_writes_what_json_writes(value: Any) -> None:
    assert writers.dumps_indented(value) == _plain_dumps(value)


# ---------------------------------------------------------------------------------------
# The plain short path (engine.Pass): content, reasoning and tool-call argument chunks that
# repeat a template with another string are counted without decoding. Oracle: the same pass
# with no template at all (engine._TRIES = 0: every payload decoded, every hook called).

import random  # noqa: E402

from conformance import Exchange, engine, judge  # noqa: E402
from conformance.profiles import get_profile  # noqa: E402
from conformance.recordings import iter_recordings, load  # noqa: E402
from conformance.rules import all_rules  # noqa: E402

from .conftest import USAGE, chunk, stream_body  # noqa: E402
from .test_engine import plain  # noqa: E402


def _facts(body: bytes, profile: str = "sansa") -> dict[str, Any]:
    """What End holds of a body, as comparable data (events by index)."""
    end = engine.Pass(Exchange(body), get_profile(profile), []).run()

    def at(x: Any) -> Any:
        return None if x is None else x.event.index if hasattr(x, "event") else x.item.event.index

    return {
        "counts": (end.events, end.payloads, end.chunks, end.errors, end.bad, end.usage_chunks),
        "last": (at(end.last_chunk), at(end.last_payload), at(end.first_chunk), at(end.last_finish_chunk)),
        "choices": {i: (at(f.first), at(f.last), f.visits, at(f.finish), f.finished) for i, f in end.choices.items()},
        "message": {i: (m.to_json(), m.reasoning_items, m.tool_entries, [(t.count, at(t.first), at(t.last)) for t in m.tool_calls])
                    for i, m in end.message.items()},
    }


def _both(body: bytes, monkeypatch: pytest.MonkeyPatch, profile: str = "sansa") -> tuple[Any, Any]:
    fast = (plain(judge(Exchange(body), profile)), _facts(body, profile))
    with monkeypatch.context() as m:
        m.setattr(engine, "_TRIES", 0)
        slow = (plain(judge(Exchange(body), profile)), _facts(body, profile))
    return fast, slow


def _reason(text: str, **extra: Any) -> dict[str, Any]:
    return {"reasoning_details": [{"type": "reasoning.text", "text": text, "index": 0, **extra}]}


def _args(text: str, index: int = 0, **extra: Any) -> dict[str, Any]:
    return {"tool_calls": [{"index": index, "function": {"arguments": text}, **extra}]}


def _opening(index: int = 0, name: str = "f", call_id: str = "c0") -> dict[str, Any]:
    return {"tool_calls": [{"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}]}


DECOYS: dict[str, list[Any]] = {
    # reasoning after content began: reasoning.before-content must see the plain reasoning chunks
    "reasoning-after-content": [chunk({"role": "assistant"}), *[chunk(_reason(f"r{i} ")) for i in range(5)],
                                chunk({"content": "answer"}), *[chunk(_reason(f"late{i}")) for i in range(4)], chunk({}, "stop")],
    # a reasoning template that reasoning.schema rejects (index not an integer): every plain chunk is a finding
    "reasoning-invalid-item": [chunk({"role": "assistant"}), *[chunk({"reasoning_details": [{"type": "reasoning.text", "text": f"t{i}", "index": "x"}]})
                                                               for i in range(6)], chunk({}, "stop")],
    # an item with a summary: its empty text reads the summary, so it is no template
    "reasoning-summary": [chunk({"role": "assistant"}), *[chunk(_reason("" if i % 2 else f"s{i}", summary="S")) for i in range(6)], chunk({}, "stop")],
    "reasoning-empty-text": [chunk({"role": "assistant"}), *[chunk(_reason("")) for _ in range(5)], chunk({"content": "x"}), chunk({}, "stop")],
    # compat.list-delta-index counts reasoning_details appearances, plain ones too
    "list-delta-bad-entry": [chunk({"role": "assistant"}), *[chunk(_reason(f"r{i}")) for i in range(5)],
                             chunk({"reasoning_details": [{"type": "reasoning.text", "text": "no index"}]}), *[chunk(_reason(f"q{i}")) for i in range(3)],
                             chunk({}, "stop")],
    # a later fragment that changes the call's id: tools.first-fragment finds it on every plain repeat
    # (the opening fragment has no arguments, so the first changing fragment is the template)
    "args-changing-id": [chunk({"role": "assistant"}), chunk({"tool_calls": [{"index": 0, "id": "c0", "type": "function", "function": {"name": "f"}}]}),
                         *[chunk(_args(f"a{i}", id="other")) for i in range(6)], chunk({}, "tool_calls")],
    # two calls interleaved, a long-path fragment of call 0 between plain runs, plain fragments last
    "args-interleaved": [chunk({"role": "assistant"}), chunk(_opening()), chunk(_opening(1, "g", "c1")),
                         *[chunk(_args(f"{i}", i % 2)) for i in range(8)], chunk(_args("{\"k\": 1}")), *[chunk(_args(f"x{i}", 1)) for i in range(3)],
                         chunk({}, "tool_calls", usage=USAGE)],
    # calls in turn: each call's fragments take over the template (the last one's plain chunks end the stream)
    "args-calls-in-turn": [chunk({"role": "assistant"}),
                           *[c for k in range(12) for c in (chunk(_opening(k, f"f{k}", f"c{k}")), *[chunk(_args(f"{k}.{i}", k)) for i in range(4)])],
                           chunk({}, "tool_calls")],
    "args-no-index-template": [chunk({"role": "assistant"}), chunk(_opening()),
                               *[chunk({"tool_calls": [{"function": {"arguments": f"n{i}"}}]}) for i in range(5)], chunk({}, "tool_calls")],
    # plain chunks then an error event: nothing after the error is plain
    "error-after-plain": [chunk({"role": "assistant"}), *[chunk(_reason(f"r{i}")) for i in range(4)], *[chunk(_args(f"a{i}")) for i in range(3)],
                          {"error": {"message": "boom", "type": "server_error"}}, *[chunk(_reason(f"z{i}")) for i in range(3)]],
    # strings that must not take the short path: a quote, a backslash, a control character
    "unclean-strings": [chunk({"role": "assistant"}), *[chunk(_reason(t)) for t in ("a", "b", 'q"uote', "back\\slash", "tab\there", "c")],
                        chunk(_opening()), *[chunk(_args(t)) for t in ("{", '"k"', ":", "\n", "1}")], chunk({}, "tool_calls")],
    # plain chunks of a finished choice are not plain: finish-reason-once reports them
    "after-finish": [chunk({"role": "assistant"}), *[chunk(_reason(f"r{i}")) for i in range(3)], chunk({}, "stop"),
                     *[chunk(_reason(f"after{i}")) for i in range(3)]],
    # two choices, each with its reasoning, content and arguments
    "two-choices": [chunk({"role": "assistant"}), chunk({"role": "assistant"}, index=1),
                    *[chunk(_reason(f"r{i}"), index=i % 2) for i in range(8)], *[chunk({"content": f"c{i}"}, index=i % 2) for i in range(8)],
                    chunk(_opening(), index=1), *[chunk(_args(f"a{i}"), index=1) for i in range(4)], chunk({}, "stop"), chunk({}, "tool_calls", index=1)],
    # usage on a chunk in the middle, then plain chunks: usage.only-last and compat.usage-last judge them
    "usage-then-plain": [chunk({"role": "assistant"}), *[chunk(_reason(f"r{i}")) for i in range(3)], chunk({}, usage=USAGE),
                         *[chunk(_reason(f"s{i}")) for i in range(3)], chunk({}, "stop")],
}


@pytest.mark.parametrize("name", sorted(DECOYS))
def test_plain_short_path_changes_no_verdict_on_decoys(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    body = stream_body(*DECOYS[name])
    fast, slow = _both(body, monkeypatch)
    assert fast == slow
    # the short path did run on the decoy (else it would prove nothing)
    run = engine.Pass(Exchange(body), get_profile("sansa"), [])
    run.run()
    assert run._tpls or name in ("reasoning-summary",)
    if name == "args-calls-in-turn":
        assert run._retired  # templates gave way to the next call's


def test_decoys_are_seen_by_the_rules_they_aim_at() -> None:
    """Each decoy breaks what it was built for: a short path that skipped them would change these."""
    def failed(name: str) -> dict[str, int]:
        verdict = judge(Exchange(stream_body(*DECOYS[name])), "sansa")
        return {r.rule: r.total for r in verdict.results if r.status in ("fail", "warn")}

    assert failed("reasoning-after-content")["reasoning.before-content"] == 1
    assert failed("reasoning-invalid-item")["reasoning.schema"] == 6
    assert failed("args-changing-id")["tools.first-fragment"] == 6
    assert failed("after-finish")["chunk.finish-reason-once"] == 1
    assert "compat.list-delta-index" in failed("list-delta-bad-entry")
    assert "9 deltas" in next(f.message for f in judge(Exchange(stream_body(*DECOYS["list-delta-bad-entry"])), "sansa").findings
                               if f.rule == "compat.list-delta-index")


def test_plain_short_path_changes_no_verdict_on_random_mixes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Random streams over a vocabulary of chunks that are, or nearly are, plain."""
    rng = random.Random(12)
    vocab = [
        lambda i: chunk({"content": rng.choice(["a", " b", "", "c\"d", "é"])}, index=i),
        lambda i: chunk(_reason(rng.choice(["r", " s", "", "t\\u"])), index=i),
        lambda i: chunk(_args(rng.choice(["{", "1", "", "\"k\""]), rng.choice([0, 0, 1])), index=i),
        lambda i: chunk(_opening(rng.choice([0, 1])), index=i),
        lambda i: chunk({"role": "assistant"}, index=i),
        lambda i: chunk({}, rng.choice(["stop", "tool_calls", None]), index=i),
        lambda i: chunk({"content": "u"}, index=i, usage=USAGE),
        lambda i: {"error": {"message": "e"}},
    ]
    weights = [20, 20, 20, 2, 2, 1, 1, 0.3]
    for _ in range(60):
        n = rng.randint(5, 60)
        choices = rng.choice([1, 1, 2])
        payloads = [chunk({"role": "assistant", "content": ""})]
        payloads += [rng.choices(vocab, weights)[0](rng.randrange(choices)) for _ in range(n)]
        body = stream_body(*payloads, done=rng.random() < 0.8)
        fast, slow = _both(body, monkeypatch)
        assert fast == slow, body[:400]


def test_plain_short_path_changes_no_verdict_on_the_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    for path in iter_recordings([FIXTURES]):
        if path.suffix != ".sse":
            continue
        exchange = load(path)
        fast = plain(judge(exchange))
        with monkeypatch.context() as m:
            m.setattr(engine, "_TRIES", 0)
            assert plain(judge(exchange)) == fast, path


def test_only_typed_chunk_schemas_take_reasoning_and_argument_templates() -> None:
    """A plain reasoning or arguments chunk is taken as valid when its template is: true only
    where the chunk schema types those strings and nothing more."""
    from conformance.schemas import all_schemas

    schemas = all_schemas()
    for name in engine._TYPED_SLOTS:
        text = json.dumps(schemas[name])
        for keyword in ("pattern", "minLength", "maxLength", "contentMediaType"):
            assert f'"{keyword}"' not in text, (name, keyword)
    for name in ("reasoning-detail.json", "tool-call-delta.json"):
        text = json.dumps(schemas[name])
        assert '"pattern"' not in text and "Length" not in text
    assert {r.id for r in all_rules()}  # the catalogue loaded with the plain kinds declared
