"""What the suite's capture costs a live read, measured against the reference endpoint.

    python benchmarks/live_overhead.py [--chunks 10000] [--rounds 7]

Starts the reference endpoint in its own process on loopback (no delay between events; its
own process, so that the server does not compete with the reader for the GIL), asks for a stream of
N content chunks, and reads it, alternating in each round:
  (a) plain: httpx streaming, every piece read and dropped (what any client must do);
  (b) capture: the suite's capture (timestamps every piece, keeps the bytes, builds the Exchange);
  (c) for context, httpx-sse's iter_sse(), a real SSE client decoding events.
Reports chunks/s for the best run of each, and the cost of capture as the median of the
per-round paired differences (capture minus plain in the same round, so that a disturbed
round disturbs both), in microseconds per chunk and percent of plain reading. Target: capture adds under 5 % to reading a 10,000-chunk stream.
Nothing is judged here: judging happens after capture and is measured by
validate_throughput.py.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx_sse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conformance.live import Limits, capture  # noqa: E402


@contextlib.contextmanager
def server_process(delay: float = 0.0, api_key: str | None = None) -> Iterator[str]:
    """The reference endpoint in its own process (`serve`) at this pace; its base URL.
    benchmarks/live_concurrency.py serves through it too."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "conformance.cli", "serve", "--port", str(port), "--delay", str(delay)]
    if api_key is not None:
        cmd += ["--api-key", api_key]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, cwd=Path(__file__).resolve().parent.parent)
    try:
        for _ in range(400):  # wait until it accepts (20 s: a loaded machine starts it slowly)
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.1):
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)

HEADERS = {"authorization": "Bearer sk-reference"}


def plain(client: httpx.Client, url: str, request: dict) -> int:
    size = 0
    with client.stream("POST", url, json=request, headers=HEADERS) as r:
        for piece in r.iter_bytes():
            size += len(piece)
    return size


def captured(client: httpx.Client, url: str, request: dict) -> int:
    ex = capture(client, url, request, HEADERS, Limits(read=30, total=300))
    assert ex.problem is None, ex.problem
    return len(ex.body)


def sse_client(client: httpx.Client, url: str, request: dict) -> int:
    n = 0
    with httpx_sse.connect_sse(client, "POST", url, json=request, headers=HEADERS) as source:
        for _ in source.iter_sse():
            n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunks", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=21)
    args = ap.parse_args()
    request = {"model": "sansa-reference", "stream": True, "messages": [{"role": "user", "content": "go"}], "x_length": args.chunks}
    runs: dict[str, list[float]] = {"plain": [], "capture": [], "httpx-sse": []}
    with server_process() as base, httpx.Client(timeout=60) as client:
        url = base + "/chat/completions"
        size = plain(client, url, request)  # warm up the connection and the server
        for _ in range(args.rounds):
            for name, fn in (("plain", plain), ("capture", captured), ("httpx-sse", sse_client)):
                t0 = time.perf_counter()
                fn(client, url, request)
                runs[name].append(time.perf_counter() - t0)
    chunks = args.chunks + 3  # content chunks + role, finish and [DONE]
    best = {name: min(times) for name, times in runs.items()}
    print(f"stream: {chunks:,} events, {size / 1e6:.2f} MB, loopback, {args.rounds} rounds")
    for name in runs:
        print(f"  {name:<10} best {best[name] * 1000:7.1f} ms  {chunks / best[name]:10,.0f} chunks/s   (median {statistics.median(runs[name]) * 1000:.1f} ms)")
    diffs = [c - p for c, p in zip(runs["capture"], runs["plain"])]
    ratios = [c / p - 1 for c, p in zip(runs["capture"], runs["plain"])]
    print(f"capture overhead (median of paired rounds): {statistics.median(diffs) / chunks * 1e6:+.2f} us per chunk, "
          f"{100 * statistics.median(ratios):+.1f} % (target < 5 %)")

if __name__ == "__main__":
    main()
