"""Throughput of `validate` against a naive decoder, as ratios measured in one run.

    python benchmarks/validate_throughput.py [--mb 25] [--repeat 3] [--big 1000000]

Generates a corpus of realistic streams (text, tool calls, reasoning; small chunks as real
providers send them), then times over the same bytes:
  (a) naive: split on blank lines + json.loads of each `data: ` payload;
  (b) ours, the one pass with no rule: the WHATWG parser, the classification of every
      event, the shared facts and the assembler (engine.Pass; what every rule shares);
  (c) ours, validate: the one pass with every rule of the catalogue (judge).
It prints MB/s and chunks/s for each, and the ratios (c)/(a) and (b)/(a) (time ratios:
lower is faster). Target: (c)/(a) <= 1.0, every rule judged in less time than the naive
pass takes to only decode. Then (d): one stream of --big chunks (default 1,000,000, about
180 MB, judged in bounded memory: benchmarks/validate_memory.py) validated at the MB/s of
the many small streams of (c), within 20 %: the cost is linear in the stream's length.

Times are CPU seconds of this process (time.process_time), best of N: on a shared machine
wall-clock time measures the other processes as much as ours.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conformance.engine import Pass  # noqa: E402
from conformance.exchange import Exchange  # noqa: E402
from conformance.judge import judge  # noqa: E402
from conformance.profiles import get_profile  # noqa: E402

WORDS = "the quick brown fox jumps over a lazy dog while streaming tokens arrive one by one".split()


def _chunk(i: int, delta: dict, finish: str | None = None, usage: dict | None = None) -> bytes:
    obj = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1760000000,
        "model": "sansa-auto",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage is not None:
        obj["usage"] = usage
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def make_stream(rng: random.Random, kind: str, n: int) -> bytes:
    parts = [_chunk(0, {"role": "assistant", "content": ""})]
    if kind == "reasoning":
        for _ in range(n // 3):
            parts.append(_chunk(0, {"reasoning_details": [{"type": "reasoning.text", "text": rng.choice(WORDS) + " ", "index": 0}]}))
    if kind == "tools":
        args = json.dumps({"city": "Paris", "days": 3, "units": "metric"})
        parts.append(_chunk(0, {"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}))
        for k in range(0, len(args), 4):
            parts.append(_chunk(0, {"tool_calls": [{"index": 0, "function": {"arguments": args[k : k + 4]}}]}))
        finish = "tool_calls"
    else:
        for _ in range(n):
            parts.append(_chunk(0, {"content": rng.choice(WORDS) + " "}))
        finish = "stop"
    parts.append(_chunk(0, {}, finish, {"prompt_tokens": 12, "completion_tokens": n, "total_tokens": 12 + n}))
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def make_corpus(megabytes: float, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    out: list[bytes] = []
    size = 0
    while size < megabytes * 1_000_000:
        kind = rng.choice(["text", "text", "reasoning", "tools"])
        body = make_stream(rng, kind, rng.randint(50, 400))
        out.append(body)
        size += len(body)
    return out


def naive(bodies: list[bytes]) -> int:
    chunks = 0
    for body in bodies:
        for block in body.split(b"\n\n"):
            if block.startswith(b"data: "):
                payload = block[6:]
                if payload != b"[DONE]":
                    json.loads(payload)
                    chunks += 1
    return chunks


def ours_pass(bodies: list[bytes]) -> int:
    profile = get_profile("sansa")
    return sum(Pass(Exchange(b), profile, []).run().chunks for b in bodies)


def ours_validate(bodies: list[bytes]) -> int:
    chunks = 0
    for body in bodies:
        verdict = judge(Exchange(body), "sansa")
        if not verdict.ok:
            raise SystemExit(f"generated stream does not conform: {verdict.findings[:3]}")
        chunks += body.count(b"\n\ndata: ")
    return chunks


def best_of(fn, bodies: list[bytes], repeat: int) -> tuple[float, int]:
    best = float("inf")
    count = 0
    for _ in range(repeat):
        t0 = time.process_time()
        count = fn(bodies)
        best = min(best, time.process_time() - t0)
    return best, count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=25.0, help="corpus size in MB (default 25)")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    ap.add_argument("--big", type=int, default=1_000_000, help="chunks in the one long stream of (d) (default 1,000,000; 0 skips)")
    args = ap.parse_args()
    bodies = make_corpus(args.mb)
    total = sum(map(len, bodies))
    judge(Exchange(bodies[0]), "sansa")  # warm up: compile schemas, import rules
    print(f"corpus: {len(bodies)} streams, {total / 1e6:.1f} MB")
    passes = (("(a) naive split + json.loads", naive), ("(b) ours: one pass, no rule", ours_pass), ("(c) ours: validate, all rules", ours_validate))
    best = {label: float("inf") for label, _ in passes}
    counts = {}
    for _ in range(args.repeat):  # interleaved: a change in the machine's load hits every pass
        for label, fn in passes:
            secs, counts[label] = best_of(fn, bodies, 1)
            best[label] = min(best[label], secs)
    results = {}
    for label, _ in passes:
        secs = best[label]
        results[label[:3]] = secs
        print(f"{label:<32} {secs:7.3f} s  {total / 1e6 / secs:7.1f} MB/s  {counts[label] / secs:10,.0f} chunks/s")
    a = results["(a)"]
    print(f"ratio (b)/(a) = {results['(b)'] / a:.2f}")
    print(f"ratio (c)/(a) = {results['(c)'] / a:.2f}   (target <= 1.0)")
    if args.big:
        big = make_stream(random.Random(3), "text", args.big)
        secs, _ = best_of(ours_validate, [big], 1)
        near, _ = best_of(ours_validate, bodies, 1)  # (c) again, next to (d) in time: the same load
        small = total / 1e6 / near
        print(f"(d) one stream of {args.big:,} chunks  {secs:7.3f} s  {len(big) / 1e6 / secs:7.1f} MB/s ({len(big) / 1e6:.0f} MB)")
        print(f"(c) again, right after          {near:7.3f} s  {small:7.1f} MB/s")
        print(f"ratio (d)/(c) MB/s = {len(big) / 1e6 / secs / small:.2f}   (target >= 0.8: linear cost)")


if __name__ == "__main__":
    main()
