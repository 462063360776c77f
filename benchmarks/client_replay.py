"""What client replay (--clients) costs, and what dominates it. All figures from one run.

    python benchmarks/client_replay.py [--streams 10,40] [--cold]

1. One-time costs: importing the openai SDK, starting the Node process (its packages already
   in the npm ci cache), and, with --cold, npm ci itself into an empty cache folder.
2. Per stream and client: the same text stream (short: 20 chunks; long: 400 chunks) replayed
   through each client alone, warm, so that the per-stream and per-chunk costs separate.
3. Scaling: `sse-conformance validate` over N generated streams with and without --clients,
   each in a fresh process, as a user runs it; the slope is the marginal cost of a stream.

Prints seconds and ratios; asserts nothing (performance is measured here, not in tests).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformance.clients import CLIENTS, Replayer  # noqa: E402
from conformance.exchange import Exchange  # noqa: E402

USAGE = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}


def body(chunks: int) -> bytes:
    def chunk(delta: dict, finish: str | None = None, **top: object) -> bytes:
        obj = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **top}
        return b"data: " + json.dumps(obj).encode() + b"\n\n"

    parts = [chunk({"role": "assistant", "content": ""})] + [chunk({"content": f"word{i} "}) for i in range(chunks)]
    return b"".join(parts + [chunk({}, "stop", usage=USAGE), b"data: [DONE]\n\n"])


def per_client(rounds: int) -> dict[str, tuple[float, float]]:
    """client -> (ms per short stream, ms per long stream), warm."""
    short, long_ = Exchange(body(20)), Exchange(body(400))
    out = {}
    for name in CLIENTS:
        with Replayer((name,)) as r:
            r.replay(short)  # warm: imports, process start
            figures = []
            for ex in (short, long_):
                t = time.perf_counter()
                for _ in range(rounds):
                    r.replay(ex)
                figures.append((time.perf_counter() - t) / rounds * 1000)
        out[name] = (figures[0], figures[1])
    return out


def one_time(cold: bool) -> dict[str, float | None]:
    code = "import time; t=time.perf_counter(); import openai; print(time.perf_counter()-t)"
    imp = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    t = time.perf_counter()
    with Replayer(("openai-node",)) as r:
        r.replay(Exchange(body(1)))  # node start + first import of the SDK + one tiny stream
    start = time.perf_counter() - t
    npm = None
    if cold:
        from conformance.clients import node

        with tempfile.TemporaryDirectory() as cache:
            os.environ["SSE_CONFORMANCE_CACHE"] = cache
            t = time.perf_counter()
            folder, reason = node.install()
            npm = time.perf_counter() - t if folder else None
            del os.environ["SSE_CONFORMANCE_CACHE"]
            if folder is None:
                print(f"npm ci failed: {reason}")
    return {"import openai (python)": imp, "node process start + first stream": start, "npm ci (cold cache)": npm}


def validate_wall(folder: Path, clients: bool) -> float:
    args = [sys.executable, "-m", "conformance.cli", "validate", str(folder), "--format", "json"]
    if clients:
        args.insert(4, "--clients")
    t = time.perf_counter()
    subprocess.run(args, capture_output=True, check=False, cwd=ROOT)
    return time.perf_counter() - t


def scaling(counts: list[int]) -> list[tuple[int, float, float]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in counts:
            folder = Path(tmp) / f"n{n}"
            folder.mkdir()
            for i in range(n):
                (folder / f"s{i}.sse").write_bytes(body(40))
            rows.append((n, validate_wall(folder, False), validate_wall(folder, True)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", default="5,40", help="stream counts for the scaling runs (two or more)")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--cold", action="store_true", help="also time npm ci into an empty cache (needs the npm registry)")
    args = parser.parse_args()

    print("One-time costs (seconds):")
    fixed = one_time(args.cold)
    for k, v in fixed.items():
        print(f"  {k:<36} {'not measured (use --cold)' if v is None else f'{v:.2f}'}")

    print(f"\nPer stream, warm, one client at a time (ms; mean of {args.rounds}):")
    costs = per_client(args.rounds)
    print(f"  {'client':<22} {'20 chunks':>10} {'400 chunks':>11} {'per chunk':>10}")
    for name, (short, long) in costs.items():
        print(f"  {name:<22} {short:>10.1f} {long:>11.1f} {(long - short) / 380 * 1000:>8.0f} us")
    total_short = sum(s for s, _ in costs.values())
    top = max(costs, key=lambda k: costs[k][1])
    print(f"  all six clients, 20-chunk stream: {total_short:.0f} ms; the slowest on long streams: {top}")

    counts = [int(c) for c in args.streams.split(",")]
    print("\nScaling: `validate DIR` vs `validate --clients DIR`, fresh process each (40-chunk streams, seconds):")
    rows = scaling(counts)
    for n, plain, clients in rows:
        print(f"  {n:>4} streams: plain {plain:6.2f}   --clients {clients:6.2f}   ratio {clients / plain:5.1f}x")
    (n0, p0, c0), (n1, p1, c1) = rows[0], rows[-1]
    slope = (c1 - c0) / (n1 - n0)
    fixed_cost = c0 - p0 - slope * n0
    print(f"  marginal cost of a stream with --clients: {slope * 1000:.0f} ms (plain: {(p1 - p0) / (n1 - n0) * 1000:.1f} ms)")
    print(f"  fixed cost of --clients (imports, node start): {fixed_cost:.2f} s")
    share = fixed_cost / (c1 - p1) if c1 > p1 else float("nan")
    print(f"  at {n1} streams the fixed cost is {share:.0%} of what --clients adds; "
          f"it breaks even with the per-stream cost at {fixed_cost / slope:.0f} streams")


if __name__ == "__main__":
    main()
