"""Client replay: real clients inside the verdict.

The evidence is kept honest both ways: every conformant fixture comes out of every available
client exactly as the spec reads it, and each known trap (the five shapes behind the new compat
rules, and the older compat rules where a client failure exists) shows the client failure it
exists for, so a client release that fixes one is noticed. Node clients run for real (one node
process, packages from the npm ci cache); without node they are skipped, never failed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conformance.clients import CLIENTS, NODE_CLIENTS, PYTHON_CLIENTS, Replayer, cell, node as node_mod, parse_clients, pieces
from conformance.errors import UsageError
from conformance.exchange import Exchange, Timing
from conformance.findings import NA, PASS, WARN
from conformance.judge import judge
from conformance.recordings import load
from conformance.rules import all_rules
from conformance.rules.clients import NOT_REQUESTED

from . import clients_streams as cs
from .conftest import FIXTURES, USAGE, chunk, stream_body

CONFORMANT = sorted((FIXTURES / "conformant").glob("*.sse"))
HAVE_NODE = shutil.which("node") is not None
AVAILABLE = CLIENTS if HAVE_NODE else PYTHON_CLIENTS
# not applicable on purpose, with these reasons: a non-2xx answer has no stream; the AI SDK reads one choice
ALLOWED_NA = ("status 4", "reads one choice")


@pytest.fixture(scope="module")
def replayer() -> Any:
    with Replayer(AVAILABLE) as r:
        yield r


def client_results(exchange: Exchange, replayer: Replayer) -> dict[str, Any]:
    verdict = judge(exchange, None, None, replayer.replay(exchange))
    return {r.rule.removeprefix("client."): r for r in verdict.results if r.rule.startswith("client.")}


@pytest.mark.parametrize("path", CONFORMANT, ids=[p.name for p in CONFORMANT])
def test_every_conformant_fixture_is_read_the_same_by_every_client(path: Path, replayer: Replayer) -> None:
    results = client_results(load(path), replayer)
    gaps = cs.KNOWN_GAPS.get(path.name, {})
    for name in AVAILABLE:
        r = results[name]
        if name in gaps:  # a known client failure on a conformant stream: still there?
            assert r.status == WARN, (name, r.status, "fixed? update tests/clients_streams.py KNOWN_GAPS and the README")
        elif r.status == NA:
            assert any(a in (r.reason or "") for a in ALLOWED_NA), (name, r.reason)
        else:
            assert r.status == PASS, (name, [f.message for f in r.findings])


def test_the_conformant_corpus_reaches_every_client(replayer: Replayer) -> None:
    """'same' must mean something: each client really read most of the corpus."""
    same = {name: 0 for name in AVAILABLE}
    for path in CONFORMANT:
        for name, r in client_results(load(path), replayer).items():
            same[name] += r.status == PASS
    assert all(n >= len(CONFORMANT) - 3 for n in same.values()), same


@pytest.mark.parametrize(("shape", "make", "client", "state", "words"), cs.BREAKS, ids=[f"{b[0]}-{b[2]}" for b in cs.BREAKS])
def test_each_trap_shows_the_client_failure_it_exists_for(shape: str, make: Any, client: str, state: str, words: str, replayer: Replayer) -> None:
    if client in NODE_CLIENTS and not HAVE_NODE:
        pytest.skip("node is not installed")
    result = client_results(make(), replayer)[client]
    assert result.status == WARN, (result.status, result.reason)
    (finding,) = result.findings
    got = cell(result.status, result.reason, finding.message)
    assert got["state"] == state and words in finding.message, finding.message
    assert "Expected:" in finding.message and "Received:" in finding.message and "Which side:" in finding.message


@pytest.mark.parametrize("make", [cs.chunk_after_usage, cs.details_without_index, cs.choice_with_message, cs.bom_before_content, cs.error_then_lone_cr])
def test_the_other_clients_read_the_five_shapes_as_the_spec_does(make: Any, replayer: Replayer) -> None:
    """The failures are the clients' own: every client not listed as broken ends with the spec's reading."""
    ex = make()
    broken = {b[2] for b in cs.BREAKS if b[1] is make or b[0] == ex.source}
    for name, r in client_results(ex, replayer).items():
        if name not in broken:
            assert r.status == PASS, (name, [f.message for f in r.findings])


def test_the_side_is_named() -> None:
    """The spec allows a chunk after the usage chunk (a warning rule): the client is at fault; it
    forbids dataless blocks and list entries without index: the stream is."""
    with Replayer(("openai-python-stream", "httpx-sse")) as r:
        usage = client_results(cs.chunk_after_usage(), r)["openai-python-stream"].findings[0].message
        dataless = client_results(cs.dataless_block(), r)["httpx-sse"].findings[0].message
        details = client_results(cs.details_without_index(), r)["openai-python-stream"].findings[0].message
    assert "Which side: the client" in usage and "compat.usage-last" in usage
    assert "Which side: the stream" in dataless and "compat.no-dataless-blocks" in dataless
    assert "Which side: the stream" in details and "compat.list-delta-index" in details


def test_finish_reason_key_trips_none_of_the_replayed_clients(replayer: Replayer) -> None:
    """compat.finish-reason-key rests on clients generated strictly from OpenAI's schema; the
    replayed SDKs all accept a choice without the key (recorded here, so a change is noticed)."""
    assert all(r.status == PASS for r in client_results(cs.finish_reason_key_missing(), replayer).values())


def test_not_requested_is_not_applicable_with_the_reason() -> None:
    verdict = judge(Exchange(cs.text_body("Hi")))
    results = [r for r in verdict.results if r.rule.startswith("client.")]
    assert len(results) == len(CLIENTS) and all(r.status == NA and r.reason == NOT_REQUESTED for r in results)


def test_client_rules_are_warnings_in_section_11() -> None:
    rules = {r.id: r for r in all_rules()}
    for name in CLIENTS:
        r = rules[f"client.{name}"]
        assert r.severity == "warning" and r.section == "11" and r.why


def test_without_node_the_node_clients_are_skipped_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node_mod.shutil, "which", lambda name: None)
    with Replayer(NODE_CLIENTS) as r:
        results = client_results(Exchange(cs.text_body("Hi")), r)
    assert all(results[n].status == NA and results[n].reason == "skipped: node is not installed (the Node clients need node >= 18 and npm)" for n in NODE_CLIENTS)
    assert results["openai-python"].reason == NOT_REQUESTED
    assert cell(NA, results["vercel-ai"].reason, None) == {"state": "skipped", "detail": "node is not installed (the Node clients need node >= 18 and npm)"}


def test_a_broken_npm_is_a_skip_not_a_failure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SSE_CONFORMANCE_CACHE", str(tmp_path))  # nothing installed here
    fake = tmp_path / "npm"
    fake.write_text("#!/bin/sh\necho 'registry unreachable' >&2\nexit 1\n")
    fake.chmod(0o755)
    real = shutil.which

    monkeypatch.setattr(node_mod.shutil, "which", lambda name: str(fake) if name == "npm" else real(name))
    if not HAVE_NODE:
        pytest.skip("node is not installed")
    with Replayer(("openai-node",)) as r:
        result = client_results(Exchange(cs.text_body("Hi")), r)["openai-node"]
    assert result.status == NA and "npm ci failed" in (result.reason or "") and "registry unreachable" in (result.reason or "")


def test_pieces_follow_the_arrivals() -> None:
    body = b"data: {}\n\ndata: [DONE]\n\n"
    assert pieces(Exchange(body)) == [body]  # no arrival times: one piece
    timed = Exchange(body, timing=Timing(((0, 0.1), (4, 0.2), (10, 0.3), (10, 0.3), (99, 0.4))))
    assert pieces(timed) == [body[:4], body[4:10], body[10:]]
    assert pieces(Exchange(b"")) == []


def test_split_pieces_are_served_as_split() -> None:
    """A CRLF split across two reads must still be one line ending for every client."""
    body = cs.text_body("Hel", "lo").replace(b"\n", b"\r\n")
    cuts = sorted({0, *range(1, len(body), 7), *[i + 1 for i in range(len(body)) if body[i:i + 1] == b"\r"]})
    ex = Exchange(body, timing=Timing(tuple((c, c / 1000) for c in cuts)))
    assert len(pieces(ex)) > 20
    with Replayer(AVAILABLE) as r:
        results = client_results(ex, r)
    assert all(x.status == PASS for x in results.values()), {k: [f.message for f in v.findings] for k, v in results.items()}


def test_parse_clients() -> None:
    assert parse_clients(None) == () and parse_clients("none") == () and parse_clients(True) == CLIENTS
    assert parse_clients("all") == CLIENTS and parse_clients(["node"]) == NODE_CLIENTS
    assert parse_clients("httpx-sse,openai-python") == ("openai-python", "httpx-sse")  # report order
    with pytest.raises(UsageError, match="unknown client 'curl'"):
        parse_clients("curl")


def test_pyproject_clients_setting(tmp_path: Path) -> None:
    from conformance.live.config import configured_clients, load_settings

    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.sse-conformance]\nclients = ["python", "vercel-ai"]\n')
    assert configured_clients(pyproject) == (*PYTHON_CLIENTS, "vercel-ai")
    assert load_settings({}, env={}, pyproject=pyproject).clients == (*PYTHON_CLIENTS, "vercel-ai")
    pyproject.write_text('[tool.sse-conformance]\nclients = ["lynx"]\n')
    with pytest.raises(UsageError, match="unknown client"):
        load_settings({}, env={}, pyproject=pyproject)


def test_readings_are_plain_json(replayer: Replayer) -> None:
    readings = replayer.replay(cs.chunk_after_usage())
    assert json.loads(json.dumps(readings)) == readings
    assert set(readings) == set(AVAILABLE)


def test_a_client_warning_is_not_a_crash(replayer: Replayer) -> None:
    """openai-python's pydantic warns on a content array; under -W error (this suite's setting)
    that must not turn into a 'raised' reading: the warning is not what the client ends up with."""
    body = stream_body(chunk({"role": "assistant", "content": [{"type": "text", "text": "2 + 2 = 4"}]}), chunk({}, "stop", usage=USAGE))
    readings = replayer.replay(Exchange(body))
    assert readings["openai-python"]["status"] == "ok", readings["openai-python"]["error"]


def _top(choices: Any) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": "sansa-auto", "choices": choices}


# Chunks that put a value of the wrong type where the accumulator builds an object: each made
# _snapshot_reading raise (AttributeError on .get) and stopped validate --clients, except the
# delta, which the SDK itself refuses. Legal framing, hostile JSON: the judge must see them.
HOSTILE = {
    # two choices with index 1 in the first chunk: the SDK keeps the first choice's own dict at
    # position 0, message "x" included
    "message-not-object": [_top([{"index": 1, "delta": {"role": "assistant"}, "message": "x", "finish_reason": None},
                                 {"index": 1, "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": None}]),
                           chunk({}, "stop", usage=USAGE)],
    "tool-call-entry-not-object": [chunk({"role": "assistant", "tool_calls": [5]}), chunk({}, "tool_calls", usage=USAGE)],
    "tool-calls-an-object": [chunk({"role": "assistant", "tool_calls": {"a": 1}}), chunk({}, "tool_calls", usage=USAGE)],
    "function-not-object": [chunk({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": "f"}]}),
                            chunk({}, "tool_calls", usage=USAGE)],
    "delta-not-object": [chunk({"role": "assistant", "content": "Hi"}), _top([{"index": 0, "delta": "x", "finish_reason": None}]),
                         chunk({}, "stop", usage=USAGE)],
}


def hostile_exchange(name: str) -> Exchange:
    return Exchange(stream_body(*HOSTILE[name]), source=name)


def _is_reading(r: Any) -> bool:
    """A reading of the documented types (conformance/clients/app.py), whatever the stream held."""
    calls_ok = all(isinstance(t, dict) and set(t) == {"id", "name", "arguments"} and isinstance(t["arguments"], str)
                   for c in r["choices"] for t in c["tool_calls"])
    return (r["status"] in ("ok", "raised", "skipped") and isinstance(r["choices"], list) and calls_ok
            and all(isinstance(c["index"], int) and isinstance(c["content"], str) and isinstance(c["reasoning"], str) for c in r["choices"]))


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_chunks_are_read_never_raised(name: str, replayer: Replayer) -> None:
    """Whatever the SDK ends up with is a reading (plain data), and each client rule a verdict."""
    ex = hostile_exchange(name)
    readings = replayer.replay(ex)
    assert json.loads(json.dumps(readings)) == readings
    for client, r in readings.items():
        assert _is_reading(r), (client, r)
    results = client_results(ex, replayer)
    assert set(results) == set(CLIENTS)
    # the accumulator cannot take any of these: it raises, and the rule says so (a warning)
    assert readings["openai-python-stream"]["status"] == "raised"
    assert results["openai-python-stream"].status == WARN


def test_the_snapshot_reading_takes_any_json_where_an_object_belongs() -> None:
    """The SDK's snapshot is built without validation: each wrong-typed value reads as what an
    application could use of it (the reading's types), never as an exception."""
    from conformance.clients.python_clients import _snapshot_reading

    snapshot = {"choices": [
        "not a choice",
        {"index": 0, "message": "x", "finish_reason": "stop"},
        {"index": "1", "message": {"content": 5, "tool_calls": {"a": 1}}},
        {"index": 2, "message": {"content": "Hi", "reasoning_content": ["r"],
                                 "tool_calls": [5, {"id": 7, "function": "f"}, {"id": "call_1", "function": {"name": "get", "arguments": None}}]}},
    ], "usage": "many"}
    r = _snapshot_reading(snapshot, "raised", "boom")
    assert r == {"status": "raised", "error": "boom", "api_error": None, "usage": None, "choices": [
        {"index": 0, "content": "", "reasoning": "", "reasoning_details": "", "tool_calls": [], "finish_reason": "stop"},
        # a non-integer index reads as the choice's place in the list, as the raw-chunk App does
        {"index": 2, "content": "", "reasoning": "", "reasoning_details": "", "tool_calls": [], "finish_reason": None},
        {"index": 2, "content": "Hi", "reasoning": "", "reasoning_details": "", "finish_reason": None, "tool_calls": [
            {"id": None, "name": None, "arguments": ""}, {"id": None, "name": None, "arguments": ""}, {"id": "call_1", "name": "get", "arguments": ""}]},
    ]}
    assert _snapshot_reading([1, 2], "ok")["choices"] == []  # not even an object at the top


def test_an_error_text_names_no_memory_address() -> None:
    """A reading is the same on every run: an exception naming an object by its address
    (openai-python's stream() raises such a KeyError on a hostile chunk) is shown without it."""
    from conformance.clients.app import error_text

    one, two = object(), object()
    texts = {error_text(KeyError(repr(obj.__init__))) for obj in (one, two)}
    assert len(texts) == 1 and "0x" not in texts.pop()
