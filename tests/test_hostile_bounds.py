"""Every live run is bounded by its settings whatever the endpoint does: compression bombs,
endless streams, enormous answers. Real sockets on loopback (tests/hostile.py), real httpx.

Time bounds here are generous on purpose (a shared CI machine); the measured figures are in
benchmarks/hostile_bounds.py.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import time
import tracemalloc
import zlib
from pathlib import Path

import httpx
import pytest

from conformance import judge
from conformance.errors import UsageError
from conformance.exchange import Exchange, Timing
from conformance.live import Limits, capture
from conformance.live.capture import DEFAULT_MAX_BODY
from conformance.live.config import load_settings, parse_size
from conformance.live.decode import STEP, DecodeError, decoded
from conformance.live.runner import NotSent, new_client, run_scenario
from conformance.live.scenarios import SCENARIOS
from conformance.report import exchange_payload, result_payload
from conformance.report.html import render

from .hostile import head, raw_endpoint

MiB = 1024 * 1024


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, 9)


def _zeros_gzip(n_mib: int) -> bytes:
    """n MiB of zeros, gzip-compressed in pieces (never holding the plain bytes at once)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * MiB
    return b"".join([z.compress(block) for _ in range(n_mib)] + [z.flush()])


def _post(url: str, limits: Limits) -> Exchange:
    with httpx.Client() as client:
        return capture(client, url + "/chat/completions", {"model": "m", "stream": True}, {}, limits)


@pytest.mark.parametrize("coding", ["gzip, gzip", "gzip,gzip,gzip"])
def test_a_stacked_gzip_bomb_is_cut_at_the_limit_without_inflating_past_it(coding: str) -> None:
    body = _zeros_gzip(256)  # 256 MiB of zeros...
    for _ in range(coding.count(",")):
        body = _gzip(body)  # ...gzipped again for each further layer: a few KB on the wire
    assert len(body) < 1 * MiB

    async def answer(n: int, w: asyncio.StreamWriter) -> None:
        w.write(head(200, "OK", ("content-type", "text/event-stream"), ("content-encoding", coding), body=body))
        await w.drain()

    limit = 2 * MiB
    with raw_endpoint(answer) as ep:
        tracemalloc.start()
        try:
            ex = _post(ep.url, Limits(max_body=limit))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert len(ex.body) == limit  # exactly the limit: the last step is cut to it
    assert "passed the 2,097,152-byte limit" in (ex.problem or "")
    # the kept pieces and their join (2 x the limit), a few decoding steps per layer, the HTTP
    # client's own setup: within 3 x the limit, never near the 256 MiB the bomb inflates to
    assert peak < 3 * limit, peak


def test_decoding_steps_are_bounded_whatever_the_ratio() -> None:
    bomb = _gzip(_zeros_gzip(64))
    steps = decoded(iter([bomb]), "gzip, gzip")
    sizes = [len(next(steps)) for _ in range(40)]
    assert max(sizes) <= STEP and sum(sizes) > 0


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("deflate", zlib.compress),  # zlib-wrapped, as the RFC says
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as servers often send
        ("gzip", lambda b: _gzip(b[:20]) + _gzip(b[20:])),  # two gzip members one after another
        ("gzip, identity", _gzip),
    ],
)
def test_decoded_bodies_are_byte_exact(coding: str, encode) -> None:  # type: ignore[no-untyped-def]
    plain = b'data: {"choices":[]}\n\n' * 500 + b"data: [DONE]\n\n"
    wire = encode(plain)
    pieces = [wire[i : i + 7] for i in range(0, len(wire), 7)]  # split across many reads
    assert b"".join(decoded(iter(pieces), coding)) == plain


def test_an_undecodable_or_unknown_coding_is_a_finding() -> None:
    with pytest.raises(DecodeError, match="br"):
        decoded(iter([b"x"]), "br")
    with pytest.raises(DecodeError, match="gzip"):
        list(decoded(iter([b"not gzip at all"]), "gzip"))

    async def answer(n: int, w: asyncio.StreamWriter) -> None:
        w.write(head(200, "OK", ("content-type", "text/event-stream"), ("content-encoding", "gzip"), body=b"data: not gzip\n\n"))
        await w.drain()

    with raw_endpoint(answer) as ep:
        ex = _post(ep.url, Limits())
    assert "does not decode as its Content-Encoding says" in (ex.problem or "")
    assert "capture.complete" in {r.rule for r in judge(ex).results if r.status == "fail"}


def test_decoded_bytes_keep_the_arrival_time_of_the_read_that_brought_them() -> None:
    events = [b'data: {"n":%d}\n\n' % i for i in range(4)]
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [z.compress(e) + z.flush(zlib.Z_SYNC_FLUSH) for e in events]
    parts[-1] += z.flush()

    async def answer(n: int, w: asyncio.StreamWriter) -> None:
        w.write(head(200, "OK", ("content-type", "text/event-stream"), ("content-encoding", "gzip"), ("transfer-encoding", "chunked")))
        for p in parts:
            w.write(b"%x\r\n%s\r\n" % (len(p), p))
            await w.drain()
            await asyncio.sleep(0.2)
        w.write(b"0\r\n\r\n")
        await w.drain()

    with raw_endpoint(answer) as ep:
        ex = _post(ep.url, Limits())
    assert ex.body == b"".join(events) and ex.problem is None
    times = [t for _, t in ex.timing.arrivals]  # type: ignore[union-attr]
    assert len(times) == 4 and times[-1] - times[0] >= 0.5  # decoded as they came, not at the end


def _endless() -> object:
    async def answer(n: int, w: asyncio.StreamWriter) -> None:
        w.write(head(200, "OK", ("content-type", "text/event-stream"), ("transfer-encoding", "chunked")))
        line = b'data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n'
        while True:
            w.write(b"%x\r\n%s\r\n" % (len(line), line))
            await w.drain()
            await asyncio.sleep(0.001)

    return answer


def test_a_run_against_an_endless_stream_ends_within_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """timeout 1 s, two scenarios to run: at most 2 s of capture, whatever the endpoint does;
    the scenario after the budget is not sent, and no capture thread is left reading."""
    keep = {"text", "length"}
    with raw_endpoint(_endless()) as ep:  # type: ignore[arg-type]
        settings = load_settings({"endpoint": ep.url, "timeout": 1.0, "skip": sorted(set(SCENARIOS) - keep)}, env={})
        start = time.perf_counter()
        with new_client() as client:
            first = run_scenario(client, settings, SCENARIOS["text"])
            second = run_scenario(client, settings, SCENARIOS["length"])
            with pytest.raises(NotSent, match="time budget of 2 s"):
                run_scenario(client, settings, SCENARIOS["tool-call"])
        took = time.perf_counter() - start
        time.sleep(0.5)
        readers = [t for t in threading.enumerate() if t.name == "sse-capture"]
    assert took < 2 + 3, took  # the budget, plus the grace each stopped worker gets and some slack
    assert "total limit" in (first.problem or "") and second.problem
    assert first.body and len(first.body) <= DEFAULT_MAX_BODY
    assert not readers  # shut down at the deadline: nothing keeps reading or holding the body


def test_the_body_limit_is_a_setting_everywhere(tmp_path: Path) -> None:
    assert load_settings({}, env={}).max_body == DEFAULT_MAX_BODY == 4 * MiB
    assert load_settings({"max_body": "2MiB"}, env={}).max_body == 2 * MiB
    assert load_settings({}, env={"SSE_CONFORMANCE_MAX_BODY": "500kB"}).max_body == 500_000
    (tmp_path / "pyproject.toml").write_text('[tool.sse-conformance]\nmax-body = "1MiB"\n')
    assert load_settings({}, env={}, pyproject=tmp_path / "pyproject.toml").max_body == MiB
    assert parse_size(4096) == 4096
    for bad in ("lots", "12 parsecs", "-1", "100", True):
        with pytest.raises(UsageError, match="max_body"):
            parse_size(bad)


def _many_choices(n: int) -> bytes:
    """One event per choice index, ~160 bytes each: 100,000 choices in 16 MB, just under the body limit."""
    head_ = '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":['
    events = [("data: " + head_ + f'{{"index":{i},"delta":{{"content":"hello {i}"}},"finish_reason":"stop"}}]}}\n\n').encode() for i in range(n)]
    return b"".join(events) + b"data: [DONE]\n\n"


def _reports(body: bytes) -> tuple[float, bytes, bytes]:
    ex = Exchange(body, {"model": "m", "stream": True, "messages": [{"role": "user", "content": "y" * 100_000}]}, 200,
                  {"content-type": "text/event-stream"}, scenario="text", timing=Timing(tuple((i, i * 1e-6) for i in range(0, len(body), 50)), 0.0))
    start = time.perf_counter()
    verdict = judge(ex, "sansa")
    took = time.perf_counter() - start
    rules = {r.rule: result_payload("live/text", ex, r) for r in verdict.results}
    doc = {"format": 1, "suite": {"name": "sse-conformance", "version": "0"}, "generated": "now", "ok": verdict.ok,
           "counts": {"pass": 0, "fail": 0, "warn": 0, "n/a": 0, "skipped": 0}, "variants": None,
           "exchanges": [{**exchange_payload("live/text", "live", ex, verdict, {}), "ok": verdict.ok, "rules": rules}]}
    return took, json.dumps(doc, indent=2).encode(), "".join(render(doc)).encode()


def test_report_size_follows_the_findings_not_the_body() -> None:
    took, as_json, html = _reports(_many_choices(3000))
    assert len(as_json) < 200_000 and len(html) < 200_000
    assert b"2,980 more choices not shown" in html
    assert b"[... 96.0 KB more]" in as_json  # the 100,000-character prompt, cut and measured
    doc = json.loads(as_json)
    ex = doc["exchanges"][0]
    assert len(ex["message"]) == 20 and ex["message_total"] == 3000 and len(ex["arrivals"]) <= 2000


@pytest.mark.slow
def test_an_answer_of_100000_choices_gives_small_reports() -> None:
    body = _many_choices(100_000)  # a 12 MB answer (judged as a recording: no live limit)
    assert 10 * MiB < len(body)
    took, as_json, html = _reports(body)
    assert len(as_json) < 20 * 1000 * 1000 and len(html) < 20 * 1000 * 1000
    assert b"99,980 more choices not shown" in html
    assert took < 300, took  # generous: the benchmark has the real figure


def test_a_bad_body_limit_is_a_usage_error_on_the_command_line() -> None:
    import io

    from conformance.cli import main

    err = io.StringIO()
    assert main(["run", "--max-body", "12 parsecs"], io.StringIO(), err) == 2
    assert "max_body must be a size" in err.getvalue()


def test_pytest_passes_the_body_limit_to_the_live_settings(pytester: pytest.Pytester) -> None:
    from conformance.plugin import live_settings

    config = pytester.parseconfig("--endpoint", "http://127.0.0.1:9/v1", "--sse-max-body", "3MiB")
    assert live_settings(config).max_body == 3 * MiB


def test_arrival_pairs_grow_with_time_not_with_reads() -> None:
    """One network read per few bytes: past 10,000 pairs, reads within a millisecond merge."""
    from conformance.live.capture import _COALESCE, _PAIRS

    async def answer(n: int, w: asyncio.StreamWriter) -> None:
        w.transport.get_extra_info("socket").setsockopt(6, 1, 1)  # TCP_NODELAY: every write its own packet
        w.write(head(200, "OK", ("content-type", "text/event-stream"), ("transfer-encoding", "chunked")))
        for _ in range(40_000):
            w.write(b"1\r\n:\r\n")
            if _ % 50 == 0:
                await w.drain()
        w.write(b"0\r\n\r\n")
        await w.drain()

    with raw_endpoint(answer) as ep:
        ex = _post(ep.url, Limits())
    pairs = ex.timing.arrivals  # type: ignore[union-attr]
    assert (len(ex.body), ex.problem) == (40_000, None)
    duration = pairs[-1][1] - pairs[0][1]
    assert len(pairs) <= _PAIRS + duration / _COALESCE + 1
    assert [o for o, _ in pairs] == sorted(o for o, _ in pairs)
