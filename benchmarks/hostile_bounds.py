"""What hostile answers cost the suite, measured in one run: judging time, peak memory, and
report sizes, for bodies at the default body limit.

    python benchmarks/hostile_bounds.py [--mb 16] [--choices 100000] [--skip-live]

Cases (each judged by every rule, then turned into the report payloads and written as
compliance.json and the HTML fragments, as a run would):
  tiny:     --mb of the smallest conformant chunks (one character of content each);
  choices:  one answer spread over --choices choice indexes (~12 MB at 100,000);
  bomb:     (live, loopback) `Content-Encoding: gzip, gzip` of a 1 GB zero body, captured
            with the default limit: time, peak traced memory, bytes kept;
  endless:  (live, loopback) an endless stream captured with total=2 s: wall time.
Prints seconds, MB/s and output sizes; the figures the tests only bound generously.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import sys
import threading
import time
import tracemalloc
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from conformance.exchange import Exchange, Timing  # noqa: E402
from conformance.judge import judge  # noqa: E402
from conformance.live.capture import DEFAULT_MAX_BODY, Limits, capture  # noqa: E402
from conformance.report import exchange_payload, result_payload  # noqa: E402
from conformance.report.html import render  # noqa: E402

HEAD = '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":['


def _event(choices: str, extra: str = "") -> bytes:
    return b"data: " + (HEAD + choices + "]" + extra + "}").encode() + b"\n\n"


def tiny(mb: float) -> bytes:
    parts = [_event('{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}')]
    one = _event('{"index":0,"delta":{"content":"x"},"finish_reason":null}')
    parts += [one] * int(mb * 1024 * 1024 / len(one))
    parts.append(_event('{"index":0,"delta":{},"finish_reason":"stop"}'))
    return b"".join(parts) + b"data: [DONE]\n\n"


def many_choices(n: int) -> bytes:
    parts = [_event(f'{{"index":{i},"delta":{{"role":"assistant","content":"hello {i}"}},"finish_reason":"stop"}}') for i in range(n)]
    return b"".join(parts) + b"data: [DONE]\n\n"


def report_sizes(exchange: Exchange) -> tuple[float, int, int]:
    """Seconds to judge, and the bytes of compliance.json and of the page's fragments."""
    start = time.perf_counter()
    verdict = judge(exchange, "sansa")
    judged = time.perf_counter() - start
    results = [result_payload("x", exchange, r) for r in verdict.results]
    ex = exchange_payload("x", "live", exchange, verdict, {"scenario": "text"})
    rules = {r["rule"]: {k: r[k] for k in ("status", "severity", "reason", "total", "title", "section", "source", "findings")} for r in results}
    doc = {"format": 1, "suite": {"name": "sse-conformance", "version": "0"}, "generated": "now", "ok": verdict.ok,
           "counts": {"pass": 0, "fail": 0, "warn": 0, "n/a": 0, "skipped": 0}, "variants": None,
           "exchanges": [{**ex, "ok": verdict.ok, "rules": rules}]}
    as_json = json.dumps(doc, indent=2, ensure_ascii=False).encode()
    html = "".join(render(doc)).encode()
    return judged, len(as_json), len(html)


def bench_body(name: str, body: bytes) -> None:
    arrivals = tuple((i, i * 1e-5) for i in range(0, len(body), 64))  # a read per 64 bytes: the worst honest case
    exchange = Exchange(body, {"model": "m", "stream": True, "messages": []}, 200, {"content-type": "text/event-stream"},
                        scenario="text", timing=Timing(arrivals, 0.0))
    judged, json_size, html_size = report_sizes(exchange)  # timed untraced: tracing slows Python code 3-4x
    tracemalloc.start()
    report_sizes(exchange)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{name:8} {len(body) / 1e6:7.1f} MB  judged in {judged:6.2f} s ({len(body) / 1e6 / judged:5.1f} MB/s), "
          f"peak traced {peak / 1e6:7.0f} MB, compliance.json {json_size / 1e6:6.2f} MB, report fragments {html_size / 1e6:6.2f} MB")


def _serve(handler) -> tuple[int, callable]:  # type: ignore[valid-type]
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(asyncio.start_server(handler, "127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def stop() -> None:
        async def down() -> None:
            server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(down(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)

    return server.sockets[0].getsockname()[1], stop


def bench_bomb() -> None:
    inner = zlib.compressobj(9, zlib.DEFLATED, 31)
    layer = b"".join([inner.compress(b"\0" * (1 << 24)) for _ in range(64)] + [inner.flush()])  # 1 GiB of zeros
    bomb = gzip.compress(layer, 9)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-encoding: gzip, gzip\r\n"
                     + f"content-length: {len(bomb)}\r\n\r\n".encode() + bomb)
        await writer.drain()
        writer.close()

    port, stop = _serve(handler)
    try:
        tracemalloc.start()
        start = time.perf_counter()
        with httpx.Client() as client:
            ex = capture(client, f"http://127.0.0.1:{port}/v1/chat/completions", {}, {}, Limits())
        took = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    finally:
        stop()
    print(f"bomb     {len(bomb):,} bytes on the wire (1 GiB decoded): kept {len(ex.body):,} of a {DEFAULT_MAX_BODY:,} limit "
          f"in {took:.2f} s, peak traced {peak / 1e6:.0f} MB")


def bench_endless() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n")
        try:
            while True:
                writer.write(b": x\n")
                await writer.drain()
                await asyncio.sleep(0.001)
        except (ConnectionError, OSError, asyncio.CancelledError):  # ends quietly when the benchmark stops it
            writer.close()

    port, stop = _serve(handler)
    try:
        start = time.perf_counter()
        with httpx.Client() as client:
            ex = capture(client, f"http://127.0.0.1:{port}/v1/chat/completions", {}, {}, Limits(read=1, total=2))
        took = time.perf_counter() - start
        alive = [t.name for t in threading.enumerate() if t.name == "sse-capture"]
    finally:
        stop()
    print(f"endless  total=2 s: returned after {took:.2f} s with {len(ex.body):,} bytes; capture workers still alive: {len(alive)}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--mb", type=float, default=DEFAULT_MAX_BODY / 1024 / 1024)
    p.add_argument("--choices", type=int, default=100_000)
    p.add_argument("--skip-live", action="store_true")
    a = p.parse_args()
    bench_body("tiny", tiny(a.mb))
    bench_body("choices", many_choices(a.choices))
    if not a.skip_live:
        bench_bomb()
        bench_endless()


if __name__ == "__main__":
    main()
